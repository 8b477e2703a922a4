export * from './component';
export * from './images';
export * from './tensorboard';
