#!/usr/bin/env bash
# The Spark tests (pipelines/tests) run Spark in local mode, which needs a Java runtime that Spark
# 4.1 supports (17 or newer). Uses the one on PATH; on Debian or Ubuntu as root, installs Debian's
# OpenJDK 17 runtime; otherwise says what to install.
set -euo pipefail
major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }
if command -v java >/dev/null 2>&1 && [ "$(major)" -ge 17 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "java.sh: installing Debian's openjdk-17-jre-headless for Spark's tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
java.sh: Spark's tests need Java 17 or newer on PATH and found none. Install an OpenJDK runtime
(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) and run the tests again.
MSG
exit 1
