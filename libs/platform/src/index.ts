export * from './platform';
export * from './review-config';
export * from './review';
export * from './review-jobs';
