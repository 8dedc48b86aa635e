"""Seeded simulated data sets for the benchmark suite (written to CSV for R as well).

Every generator takes a ``seed`` and returns a pandas DataFrame whose grouping columns are
strings (R reads them as factors).  The true parameters are stated in each docstring so a
reader can check that a fit recovers them.

- :func:`crossed_courses`: the shape of lme4's ``InstEval`` course evaluations (73,421
  ratings, 2,972 students x 1,128 instructors x 14 departments); instructors are nested in
  departments, students are crossed with both.
- :func:`nested_large`: 1,000,000 rows in 10,000 clusters with a random intercept and slope
  and a cross-level interaction.
- :func:`binary_large`: the same shape with a binary outcome (logistic GLMM).
- :func:`growth_three_level`: repeated measures on children within schools, random
  intercepts and growth slopes at both the child and the school level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def crossed_courses(seed: int = 20261123) -> pd.DataFrame:
    """73,421 ratings y of instructor d (in department dept) by student s.

    y = 3.2 + 0.15 service + 0.05 lectage + u_s + v_d + w_dept (+ slope_dept * service) + e,
    u_s ~ N(0, 0.32²), v_d ~ N(0, 0.52²), w_dept ~ N(0, 0.08²), slope_dept ~ N(0, 0.10²)
    (correlation -0.3 with w_dept), e ~ N(0, 1.18²).  Each student rates 5 to 45 courses;
    instructors get ratings with Zipf-like popularity, as in InstEval.
    """
    rng = np.random.default_rng(seed)
    n, n_s, n_d, n_dept = 73_421, 2_972, 1_128, 14
    dept_of_d = rng.integers(0, n_dept, n_d)
    # every student and instructor appears at least once; the rest drawn with skew
    s = np.concatenate([np.arange(n_s), rng.integers(0, n_s, n - n_s)])
    popularity = 1.0 / np.arange(1, n_d + 1) ** 0.6
    d_extra = rng.choice(n_d, size=n - n_d, p=popularity / popularity.sum())
    d = np.concatenate([np.arange(n_d), d_extra])
    rng.shuffle(d)
    dept = dept_of_d[d]
    service = rng.integers(0, 2, n).astype(float)
    lectage = rng.integers(1, 7, n).astype(float)
    u_s = rng.normal(0, 0.32, n_s)
    v_d = rng.normal(0, 0.52, n_d)
    cov = np.array([[0.08**2, -0.3 * 0.08 * 0.10], [-0.3 * 0.08 * 0.10, 0.10**2]])
    w = rng.multivariate_normal([0, 0], cov, n_dept)
    y = (
        3.2
        + 0.15 * service
        + 0.05 * lectage
        + u_s[s]
        + v_d[d]
        + w[dept, 0]
        + w[dept, 1] * service
        + rng.normal(0, 1.18, n)
    )
    return pd.DataFrame(
        {
            "y": y,
            "service": service,
            "lectage": lectage,
            "s": "s" + pd.Series(s).astype(str),
            "d": "d" + pd.Series(d).astype(str),
            "dept": "dept" + pd.Series(dept).astype(str),
        }
    )


def nested_large(seed: int = 20261124, n: int = 1_000_000, clusters: int = 10_000) -> pd.DataFrame:
    """y_ij = 10 + 2 x_ij + 1.5 w_j + 0.8 x_ij w_j + u0_j + u1_j x_ij + e_ij.

    x_ij ~ N(0, 1) (level 1), w_j ~ N(0, 1) (level 2), (u0, u1) ~ N(0, [[4, 0.6], [0.6, 1]]),
    e ~ N(0, 9).  Clusters have n / clusters rows each.
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(clusters), n // clusters)
    x = rng.normal(size=n)
    w_j = rng.normal(size=clusters)
    u = rng.multivariate_normal([0, 0], [[4.0, 0.6], [0.6, 1.0]], clusters)
    w = w_j[g]
    y = 10 + 2 * x + 1.5 * w + 0.8 * x * w + u[g, 0] + u[g, 1] * x + rng.normal(0, 3, n)
    return pd.DataFrame({"y": y, "x": x, "w": w, "g": "g" + pd.Series(g).astype(str)})


def binary_large(seed: int = 20261201, n: int = 1_000_000, clusters: int = 10_000) -> pd.DataFrame:
    """logit P(y_ij = 1) = -0.5 + 0.8 x_ij + 0.5 w_j + 0.3 x_ij w_j + u0_j + u1_j x_ij.

    x_ij ~ N(0, 1) (level 1), w_j ~ N(0, 1) (level 2), (u0, u1) ~ N(0, [[1, 0.15], [0.15,
    0.25]]).  Clusters have n / clusters rows each.
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(clusters), n // clusters)
    x = rng.normal(size=n)
    w_j = rng.normal(size=clusters)
    u = rng.multivariate_normal([0, 0], [[1.0, 0.15], [0.15, 0.25]], clusters)
    w = w_j[g]
    eta = -0.5 + 0.8 * x + 0.5 * w + 0.3 * x * w + u[g, 0] + u[g, 1] * x
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    return pd.DataFrame({"y": y, "x": x, "w": w, "g": "g" + pd.Series(g).astype(str)})


def growth_three_level(
    seed: int = 20261125, schools: int = 150, children: int = 40, waves: int = 6
) -> pd.DataFrame:
    """math_tis = 0.5 + 0.9 year + (school and child intercepts and slopes) + e.

    year = 0..waves-1 centred at its mean; school (u0, u1) ~ N(0, [[0.16, 0.01], [0.01,
    0.01]]), child (r0, r1) ~ N(0, [[0.64, 0.04], [0.04, 0.04]]), e ~ N(0, 0.09).  The child
    identifier repeats across schools (``child:school`` is the child), as in egsingle.
    """
    rng = np.random.default_rng(seed)
    n_child = schools * children
    school_of = np.repeat(np.arange(schools), children)
    child_in = np.tile(np.arange(children), schools)
    year = np.tile(np.arange(waves) - (waves - 1) / 2, n_child)
    child = np.repeat(np.arange(n_child), waves)
    u = rng.multivariate_normal([0, 0], [[0.16, 0.01], [0.01, 0.01]], schools)
    r = rng.multivariate_normal([0, 0], [[0.64, 0.04], [0.04, 0.04]], n_child)
    sch = school_of[child]
    math = (
        0.5
        + 0.9 * year
        + u[sch, 0]
        + u[sch, 1] * year
        + r[child, 0]
        + r[child, 1] * year
        + rng.normal(0, 0.3, child.size)
    )
    return pd.DataFrame(
        {
            "math": math,
            "year": year,
            "school": "sch" + pd.Series(sch).astype(str),
            "child": "c" + pd.Series(child_in[child]).astype(str),
        }
    )


KB07_TERMS = ("spkr", "prec", "load")
KB07_FORMULA_RHS = "1 + spkr * prec * load"


def kb07_maximal(seed: int = 20261201) -> pd.DataFrame:
    """The shape of Kronmüller & Barr's (2007) ``kb07``: 56 subjects x 32 items crossed.

    Every subject sees every item once, in one of the 8 cells of three two-level factors
    (spkr, prec, load, coded ±1) by a Latin square (cell = (subject + item) mod 8), so
    every contrast is within subject and within item; two (subject, item) rows are
    missing (1,790 rows).  rt = X β + Z_subj b_s + Z_item b_i + e with X the 8 columns of
    ``1 + spkr * prec * load``, β = (2180, 68, -334, 79, -21, 18, 5, 24) (ms), b_s ~ N(0,
    Σ_s) and b_i ~ N(0, Σ_i) full 8 x 8 covariances whose standard deviations are those
    of the published maximal fit (subjects 300, 30, 40, 60, 25, 20, 25, 40; items 360,
    70, 250, 30, 40, 30, 35, 45), correlations drawn from an LKJ-like Wishart (seeded),
    and e ~ N(0, 670²).  lme4's and our maximal fit of these data are near-singular, as
    the real kb07's are.
    """
    rng = np.random.default_rng(seed)
    n_s, n_i = 56, 32
    s, i = np.meshgrid(np.arange(n_s), np.arange(n_i), indexing="ij")
    s, i = s.ravel(), i.ravel()
    cell = (s + i) % 8
    sign = lambda bit: np.where((cell >> bit) & 1, 1.0, -1.0)  # noqa: E731
    spkr, prec, load = sign(0), sign(1), sign(2)
    X = np.column_stack([np.ones_like(spkr), spkr, prec, load, spkr * prec, spkr * load,
                         prec * load, spkr * prec * load])
    beta = np.array([2180.0, 68.0, -334.0, 79.0, -21.0, 18.0, 5.0, 24.0])

    def covariance(sds: list[float]) -> np.ndarray:
        W = rng.standard_normal((24, 8))
        C = W.T @ W
        d = 1.0 / np.sqrt(np.diag(C))
        R = d[:, None] * C * d[None, :]
        sd = np.asarray(sds)
        return sd[:, None] * R * sd[None, :]

    cov_s = covariance([300, 30, 40, 60, 25, 20, 25, 40])
    cov_i = covariance([360, 70, 250, 30, 40, 30, 35, 45])
    b_s = rng.multivariate_normal(np.zeros(8), cov_s, n_s)
    b_i = rng.multivariate_normal(np.zeros(8), cov_i, n_i)
    rt = (X @ beta + (X * b_s[s]).sum(axis=1) + (X * b_i[i]).sum(axis=1)
          + rng.normal(0, 670.0, s.size))
    keep = np.ones(s.size, dtype=bool)
    keep[rng.choice(s.size, 2, replace=False)] = False
    return pd.DataFrame({
        "rt": rt[keep], "spkr": spkr[keep], "prec": prec[keep], "load": load[keep],
        "subj": "S" + pd.Series(s[keep]).astype(str).str.zfill(2),
        "item": "I" + pd.Series(i[keep]).astype(str).str.zfill(2),
    })


def crossed_districts(seed: int = 20261202, districts: int = 50, per_district: int = 100,
                      rows_per_student: int = 20) -> pd.DataFrame:
    """Three crossed factors of 5,000 levels (students, teachers, raters), 100,000 rows.

    Each of 50 districts has 100 students, 100 teachers and 100 raters; every row is one
    of a student's 20 scored tasks, taught by a teacher and scored by a rater drawn at
    random *within the student's district*: the three factors are crossed within each
    district (every student meets ~18 of its teachers and raters; teachers and raters meet
    most of the district's students), as students, teachers and raters are in practice.
    y = 50 + 2 x + u_student + v_teacher + w_rater + e with SDs 4, 2, 1.5 and σ = 5.
    """
    rng = np.random.default_rng(seed)
    n_levels = districts * per_district
    n = n_levels * rows_per_student
    student = np.repeat(np.arange(n_levels), rows_per_student)
    district = student // per_district
    teacher = district * per_district + rng.integers(0, per_district, n)
    rater = district * per_district + rng.integers(0, per_district, n)
    x = rng.normal(size=n)
    u = rng.normal(0, 4, n_levels)
    v = rng.normal(0, 2, n_levels)
    w = rng.normal(0, 1.5, n_levels)
    y = 50 + 2 * x + u[student] + v[teacher] + w[rater] + rng.normal(0, 5, n)
    return pd.DataFrame({
        "y": y, "x": x, "student": "s" + pd.Series(student).astype(str),
        "teacher": "t" + pd.Series(teacher).astype(str),
        "rater": "r" + pd.Series(rater).astype(str),
    })


def crossed_uniform(seed: int = 20261203, n_levels: int = 5_000, n: int = 100_000) -> pd.DataFrame:
    """Three crossed factors of 5,000 levels, 100,000 rows, levels drawn uniformly at random.

    No structure at all: every pair of levels of two factors is equally likely to meet, so
    after eliminating one factor the other two are coupled almost everywhere and the
    Cholesky factor of the 10,000 x 10,000 rest block is dense whatever the ordering (AMD
    leaves 68 % of the full 15,000² factor nonzero).  y = 50 + 2 x + u_a + v_b + w_c + e,
    SDs 4, 2, 1.5, σ = 5.
    """
    rng = np.random.default_rng(seed)
    a, b, c = (rng.integers(0, n_levels, n) for _ in range(3))
    x = rng.normal(size=n)
    u, v, w = (rng.normal(0, sd, n_levels) for sd in (4, 2, 1.5))
    y = 50 + 2 * x + u[a] + v[b] + w[c] + rng.normal(0, 5, n)
    return pd.DataFrame({
        "y": y, "x": x, "a": "a" + pd.Series(a).astype(str),
        "b": "b" + pd.Series(b).astype(str), "c": "c" + pd.Series(c).astype(str),
    })
