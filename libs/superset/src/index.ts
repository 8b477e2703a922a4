export * from './component';
export * from './config';
export * from './images';
export * from './settings';
export * from './statsd-mapping';
export * from './superset';
