export * from './access';
export * from './images';
export * from './oauth2-proxy';
export * from './routes';
