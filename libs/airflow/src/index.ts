export * from './airflow';
export * from './component';
export * from './config';
export * from './dags';
export * from './images';
export * from './settings';
export * from './statsd-mapping';
export * from './tasks';
