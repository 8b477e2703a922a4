"""The Spark step: the training set from the clean customers. Submitted by the DAG to Spark on
Kubernetes (a file of its own: spark-submit uploads it for the driver), and run by the tests with
Spark in local mode.

    spark-submit features.py <customers parquet> <output folder>
"""

import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "age"]
LABEL = "churned"


def training_set(customers: DataFrame) -> DataFrame:
    """The model's features and label, a stable train/test split by customer, and a derived ratio."""
    return customers.select(
        "customer_id",
        *[F.col(c).cast("double").alias(c) for c in FEATURES],
        (F.col("monthly_charges") / (F.col("tenure_months") + 1)).alias("charges_per_month_of_tenure"),
        F.col(LABEL).cast("long").alias(LABEL),
        F.when(F.abs(F.hash("customer_id")) % 5 == 0, F.lit("test")).otherwise(F.lit("train")).alias("split"),
    ).where(F.col("monthly_charges").isNotNull() & F.col("age").isNotNull())


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    spark = SparkSession.builder.appName("churn-features").getOrCreate()
    try:
        result = training_set(spark.read.parquet(argv[1]))
        result.write.mode("overwrite").parquet(argv[2])
        print(f"wrote {result.count()} rows to {argv[2]}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
