export * from './gitlab-agent';
export * from './images';
export * from './component';
