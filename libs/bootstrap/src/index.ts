export * from './charts';
export * from './config';
export * from './module';
export * from './pipeline';
export * from './plan-summary';
export * from './terraform';
export * from './values';
