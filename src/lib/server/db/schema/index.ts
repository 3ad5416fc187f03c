export * from './tenants';
export * from './system';
export * from './auth';
export * from './audit';
export * from './ingest';
export * from './roles';
export * from './numbers';
