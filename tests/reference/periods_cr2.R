# Reference values for the CR2 period comparisons of groupeval.statistics.periods
# (tests/test_periods_against_R.py).
#
# Run from the repository root:   Rscript tests/reference/periods_cr2.R
#
# It simulates its own inputs (set.seed): members of G groups in two reporting periods, the same groups
# contributing to both (the dependence the comparison must respect), a group effect shared by a group's
# members in both periods, some groups in one period only.  Writes, next to this script:
#   periods_cr2_input.csv   dataset, group_id, in_period (1 = the period reported, 0 = the one compared),
#                           y (member-level value), w (weight; 1 when unweighted)
#   periods_cr2_ref.csv     per dataset and model: estimate, se, df, p_value, ci_low, ci_high (95 %)
#                           model "difference": lm(y ~ in_period [, weights = w]) -> coefficient of in_period
#                           model "mean_period" / "mean_compare": lm(y ~ 1 [, weights = w]) within each period
# All with clubSandwich::vcovCR(type = "CR2") and coef_test / conf_int(test = "Satterthwaite").
# Numbers are written with 17 significant digits.  CI does not run R.
suppressPackageStartupMessages(library(clubSandwich))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
num17 <- function(df) {
  for (nm in names(df)) if (is.double(df[[nm]])) df[[nm]] <- sprintf("%.17g", df[[nm]])
  df
}

sim <- function(G, n_a, n_b, kind, icc = 0.2, shift = 0.1) {
  u <- rnorm(G, 0, sqrt(icc))
  g <- c(rep(seq_len(G), n_a), rep(seq_len(G), n_b))
  p <- c(rep(1, sum(n_a)), rep(0, sum(n_b)))
  eta <- u[g] + shift * p
  if (kind == "continuous") {
    y <- eta + rnorm(length(g))
    w <- rep(1, length(g))
  } else if (kind == "binary") {
    y <- as.numeric(runif(length(g)) < plogis(-0.8 + 2 * eta))
    w <- rep(1, length(g))
  } else {                        # ratio: attended / offered, WLS weighted by offered
    w <- sample(3:14, length(g), replace = TRUE)
    y <- rbinom(length(g), w, plogis(1 + eta)) / w
  }
  data.frame(group_id = sprintf("G%02d", g), in_period = p, y = y, w = w, stringsAsFactors = FALSE)
}

sets <- list()
set.seed(2031)
sets$cont8 <- sim(8, c(5, 9, 0, 12, 4, 7, 10, 3), c(6, 8, 11, 9, 0, 5, 7, 4), "continuous")
set.seed(2032)
sets$binary10 <- sim(10, c(8, 3, 12, 6, 9, 0, 5, 14, 7, 4), c(7, 5, 10, 0, 8, 6, 9, 11, 3, 6), "binary")
set.seed(2033)
sets$ratio7 <- sim(7, c(9, 4, 13, 6, 8, 5, 11), c(10, 7, 9, 0, 12, 6, 8), "ratio")
set.seed(2034)
sets$cont6eq <- sim(6, rep(6, 6), rep(6, 6), "continuous", icc = 0.4)
# one member per group and period-specific groups: CR2 reduces to HC2 (a closed form)
set.seed(2035)
d <- sim(30, c(rep(1, 14), rep(0, 16)), c(rep(0, 14), rep(1, 16)), "binary")
sets$singletons <- d

rows <- list()
inputs <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  inputs[[nm]] <- cbind(dataset = nm, d)
  weighted <- nm == "ratio7"
  fits <- list(
    difference = if (weighted) lm(y ~ in_period, data = d, weights = w) else lm(y ~ in_period, data = d),
    mean_period = if (weighted) lm(y ~ 1, data = d[d$in_period == 1, ], weights = w) else
      lm(y ~ 1, data = d[d$in_period == 1, ]),
    mean_compare = if (weighted) lm(y ~ 1, data = d[d$in_period == 0, ], weights = w) else
      lm(y ~ 1, data = d[d$in_period == 0, ])
  )
  for (model in names(fits)) {
    fit <- fits[[model]]
    sub <- if (model == "difference") d else d[d$in_period == (model == "mean_period"), ]
    V <- vcovCR(fit, cluster = sub$group_id, type = "CR2")
    ct <- coef_test(fit, vcov = V, test = "Satterthwaite")
    ci <- conf_int(fit, vcov = V, level = 0.95, test = "Satterthwaite")
    k <- nrow(ct)
    rows[[length(rows) + 1]] <- data.frame(
      dataset = nm, model = model, estimate = ct$beta[k], se = ct$SE[k], df = ct$df_Satt[k],
      p_value = ct$p_Satt[k], ci_low = ci$CI_L[k], ci_high = ci$CI_U[k], stringsAsFactors = FALSE)
  }
}
write.csv(num17(do.call(rbind, inputs)), file.path(here, "periods_cr2_input.csv"), row.names = FALSE)
write.csv(num17(do.call(rbind, rows)), file.path(here, "periods_cr2_ref.csv"), row.names = FALSE)
