export * from './component';
export * from './config';
export * from './history';
export * from './images';
export * from './sizing';
export * from './spark';
export * from './submit-config';
