"""The churn example pipeline's task code: landing raw data, the pandas ETL, the Spark feature job
and the training step. The DAG file (../churn.py) wires them; each runs in a task pod of its own
with the platform's images, and each runs here in the tests against a local S3 server."""
