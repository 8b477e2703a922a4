import { builtImage } from '@ml-platform/core';

/** The reference prediction service, built here from services/prediction-api. */
export const PREDICTION_API_IMAGE = builtImage('prediction-api', {
  tag: '1.0.0',
  note: 'Built here from services/prediction-api: Flask 3.1.3 under gunicorn 26.2.0, mlflow-skinny 3.16.1 (the tracking server\'s version), scikit-learn 1.9.1, as locked in its uv.lock, on python:3.12.13-slim-bookworm.',
  build: { context: 'services/prediction-api', contextDigest: 'sha256:c071085796374d0887b2fb695d852f396be2ee6280be598296082354d162920d' },
});
