export * from './charts';
export * from './config';
export * from './module';
export * from './terraform';
export * from './values';
