export * from './postgres';
export * from './images';
export * from './component';
export * from './backup';
