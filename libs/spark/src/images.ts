import { builtImage } from '@ml-platform/core';

/** Spark 4.1.2 (Scala 2.13, Java 21, Python 3) with the S3A connector: jobs and the history server. */
export const SPARK_IMAGE = builtImage('spark', {
  tag: '4.1.2-1',
  note: 'Built here from images/spark: the official apache/spark:4.1.2-scala2.13-java21-python3-ubuntu (apache/spark-docker versions.json) plus hadoop-aws 3.4.2 and its AWS SDK bundle. Newer patch releases exist on PyPI (4.1.4); their image tags are not verifiable offline.',
  build: { context: 'images/spark', contextDigest: 'sha256:28f59a86fb1d80b604113d3aa843c4bc2a836ae0a09f3221af0dee2db9331692' },
});
