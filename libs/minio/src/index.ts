export * from './minio';
export * from './images';
export * from './component';
export * from './offsite';
