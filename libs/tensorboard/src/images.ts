import { builtImage, containerImage } from '@ml-platform/core';

/** TensorBoard, built here: there is no maintained upstream image without TensorFlow. */
export const TENSORBOARD_IMAGE = builtImage('tensorboard', {
  tag: '2.21.0-1',
  note: 'Built here from images/tensorboard: tensorboard 2.21.0 from PyPI as locked in its uv.lock, on python:3.12.13-slim-bookworm. The tag is the TensorBoard version and the build.',
  build: { context: 'images/tensorboard', contextDigest: 'sha256:4f04deffba6508b336647eb24b8d9f8eb85ca2081295bb66358a36401c9b41f6' },
});

/** The sidecar that mirrors the training logs bucket into TensorBoard's folder. */
export const RCLONE_IMAGE = containerImage('rclone', {
  registry: 'docker.io',
  repository: 'rclone/rclone',
  tag: '1.76.0',
  note: "rclone's official image (Alpine, busybox sh); the tests run the same release, built with go install (tools/tool-versions.env). Digest not pinned: not verifiable offline.",
});
