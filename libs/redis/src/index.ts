export * from './component';
export * from './config';
export * from './images';
export * from './redis';
