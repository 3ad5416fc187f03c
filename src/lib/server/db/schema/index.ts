export * from './tenants';
export * from './system';
