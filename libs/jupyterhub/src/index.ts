export * from './component';
export * from './config';
export * from './hub-config';
export * from './images';
export * from './jupyterhub';
export * from './notebooks';
export * from './spark';
