export * from './fields';
export * from './images';
export * from './parse';
export * from './schema';
export * from './tls';
