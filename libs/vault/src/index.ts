export * from './vault';
export * from './images';
export * from './component';
export * from './snapshots';
