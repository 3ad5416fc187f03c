/* VoxCalls page-view beacon. Paste on the landing site: <script async src="https://<voxcalls>/t/vx.js"></script>
   Reads vx=<code> from the landing URL, keeps it in first-party storage (localStorage, else a cookie) so later
   pages of the site are counted too, and records each page view with a 1x1 image request. */
(function () {
	try {
		var K = 'vx', code = null, m, s = document.currentScript;
		var base = s && s.src ? new URL(s.src).origin : '';
		var ok = function (c) { return c && /^[0-9A-Za-z]{10}$/.test(c); };
		m = /[?&]vx=([^&#]*)/.exec(location.search);
		if (m) code = decodeURIComponent(m[1]);
		if (ok(code)) {
			try { localStorage.setItem(K, code); } catch { /* storage or cookies blocked: count this page only */ }
			document.cookie = K + '=' + code + ';path=/;max-age=7776000;samesite=lax';
		} else {
			code = null;
			try { code = localStorage.getItem(K); } catch { /* storage or cookies blocked: count this page only */ }
			if (!ok(code)) { m = /(?:^|;\s*)vx=([^;]*)/.exec(document.cookie); code = m ? m[1] : null; }
		}
		if (!ok(code) || !base) return;
		var img = new Image(1, 1);
		img.src = base + '/t/p.gif?vx=' + encodeURIComponent(code) + '&u=' + encodeURIComponent(location.href.slice(0, 2000)) + '&r=' + Math.random().toString(36).slice(2);
	} catch { /* storage or cookies blocked: count this page only */ }
})();
