-- Closed statements are immutable in the database, not only in the code (issue 14).
-- statement: no DELETE ever. An UPDATE is allowed only as the audited reopen: status 'closed' -> 'reopened' with
-- reopened_at/by/reason set and every other column unchanged, and only in a transaction where the reopen verb
-- (services/finance/statements.ts reopenStatement) ran `SET LOCAL voxcalls.statement_reopen = 'on'`. A reopened
-- statement never changes again.
CREATE FUNCTION statement_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE'
		AND current_setting('voxcalls.statement_reopen', true) = 'on'
		AND OLD.status = 'closed' AND NEW.status = 'reopened'
		AND NEW.reopened_at IS NOT NULL AND NEW.reopened_by IS NOT NULL AND coalesce(btrim(NEW.reopen_reason), '') <> ''
		AND (to_jsonb(NEW) - ARRAY['status', 'reopened_at', 'reopened_by', 'reopen_reason'])
			= (to_jsonb(OLD) - ARRAY['status', 'reopened_at', 'reopened_by', 'reopen_reason'])
	THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'statement % (number %) is % and cannot be changed; corrections go on the next statement as adjustments', OLD.id, OLD.number, OLD.status
		USING ERRCODE = 'integrity_constraint_violation';
END $$;
--> statement-breakpoint
CREATE TRIGGER statement_immutable BEFORE UPDATE OR DELETE ON statement FOR EACH ROW EXECUTE FUNCTION statement_refuse_change();
--> statement-breakpoint
-- Lines are written with their statement, in the transaction that closes it, and never touched again.
CREATE FUNCTION statement_line_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF EXISTS (SELECT 1 FROM statement s WHERE s.id = NEW.statement_id AND s.closed_at = transaction_timestamp()) THEN
			RETURN NEW;
		END IF;
		RAISE EXCEPTION 'lines are added only by the transaction that closes their statement (%)', NEW.statement_id
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RAISE EXCEPTION 'statement lines cannot be changed (line %)', OLD.id USING ERRCODE = 'integrity_constraint_violation';
END $$;
--> statement-breakpoint
CREATE TRIGGER statement_line_immutable BEFORE INSERT OR UPDATE OR DELETE ON statement_line FOR EACH ROW EXECUTE FUNCTION statement_line_refuse_change();
--> statement-breakpoint
CREATE FUNCTION finance_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% cannot be truncated', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$;
--> statement-breakpoint
CREATE TRIGGER statement_no_truncate BEFORE TRUNCATE ON statement FOR EACH STATEMENT EXECUTE FUNCTION finance_refuse_truncate();
--> statement-breakpoint
CREATE TRIGGER statement_line_no_truncate BEFORE TRUNCATE ON statement_line FOR EACH STATEMENT EXECUTE FUNCTION finance_refuse_truncate();
--> statement-breakpoint
-- A billing rule version is what a statement says it used: an edit inserts the next version, never rewrites one.
CREATE FUNCTION billing_rule_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'billing rule versions cannot be changed (version % of tenant %); save a new version', OLD.version, OLD.tenant_id
		USING ERRCODE = 'integrity_constraint_violation';
END $$;
--> statement-breakpoint
CREATE TRIGGER billing_rule_immutable BEFORE UPDATE OR DELETE ON billing_rule FOR EACH ROW EXECUTE FUNCTION billing_rule_refuse_change();
