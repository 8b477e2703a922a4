export * from './component';
export * from './home';
export * from './images';
export * from './page';
export * from './server-config';
