export * from './flux';
