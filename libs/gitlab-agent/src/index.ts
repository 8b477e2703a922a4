export * from './gitlab-agent';
