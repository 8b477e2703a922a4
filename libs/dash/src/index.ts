export * from './component';
export * from './config';
export * from './dash-app';
export * from './images';
