"""Spark DataFrames: the same fit computed by a SparkSession (local mode here, a cluster in
production).  Skipped when pyspark or Java is missing (.ci/test installs Debian's Java).

Kept small: Spark's start-up dominates (tens of seconds); the fit itself is four queries.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm
from mlm_jupyter.formula import FormulaError

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs it
    pytest.skip("Spark needs Java (openjdk-17-jre-headless)", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("mlm-test")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(40), 15)
    x = rng.normal(size=g.size)
    f = rng.choice(["a", "b"], size=g.size)
    y = (1 + 0.5 * x + 0.4 * (f == "b") + rng.normal(size=40)[g]
         + 0.3 * rng.normal(size=40)[g] * x + rng.normal(size=g.size))
    df = pd.DataFrame({"g": g.astype(str), "x": x, "f": f, "y": y})
    df.loc[[3, 17], "x"] = np.nan
    return df


@pytest.mark.slow
def test_spark_dataframe_fit_equals_the_in_memory_fit(spark):
    df = _data()
    sdf = spark.createDataFrame(df)
    formula = "y ~ x + f + (1 + x | g)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem = mlm.fit(formula, df)
        res = mlm.fit(formula, sdf)
    assert res.data_used is None
    assert (res.nobs, res.n_dropped, res.ngroups) == (mem.nobs, mem.n_dropped, mem.ngroups)
    np.testing.assert_allclose(res.fixef, mem.fixef, rtol=1e-8)
    np.testing.assert_allclose(res.theta, mem.theta, rtol=1e-7, atol=1e-8)
    assert res.sigma == pytest.approx(mem.sigma, rel=1e-8)
    assert res.objective == pytest.approx(mem.objective, rel=1e-10)
    with pytest.raises(FormulaError, match="xx"):
        mlm.fit("y ~ xx + (1 | g)", sdf)
