export * from './mlflow';
export * from './images';
export * from './component';
