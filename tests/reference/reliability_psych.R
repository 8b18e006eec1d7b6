# Reference values for groupeval.statistics.reliability (tests/test_reliability.py).
#
# Writes a deterministic survey dataset and the reliability statistics R's psych
# package computes on it.  Run from the repository root:
#     Rscript tests/reference/reliability_psych.R
# Outputs (committed; the tests read them, CI does not run R):
#   tests/reference/reliability_psych_data.csv   responses: member_id, timepoint, brs_1..6, mspss_1..12, whoqol_bref_1..26
#   tests/reference/reliability_psych.csv        instrument, variant, timepoint, scale, n, k, alpha, alpha_ci_low, alpha_ci_high, omega
#   tests/reference/reliability_psych_items.csv  instrument, variant, timepoint, scale, item, r_drop, alpha_if_deleted
# Conventions mirrored from groupeval: reverse-keyed items recoded (min + max - x) before
# the analysis; listwise deletion per scale (rows answering every item of the scale);
# psych::alpha(x)$total$raw_alpha, $feldt (Feldt 95% CI), $item.stats$r.drop,
# $alpha.drop$raw_alpha; psych::omega(x, nfactors = 1, fm = "minres")$omega.tot.
suppressPackageStartupMessages(library(psych))
cat("psych", as.character(packageVersion("psych")), "\n")
set.seed(20251124)

n_members <- 260
timepoints <- c("baseline", "week_12", "week_26")
ordinal <- function(latent, loadings, thresholds, min_value) {
  # one-factor ordinal items: x = min + number of thresholds below (loading * latent + noise)
  n <- length(latent)
  sapply(loadings, function(l) {
    y <- l * latent + sqrt(1 - l^2) * rnorm(n)
    min_value + findInterval(y, thresholds)
  })
}
rows <- list()
for (t in seq_along(timepoints)) {
  eta <- rnorm(n_members, mean = 0.25 * (t - 1))
  brs <- ordinal(eta, c(0.75, 0.65, 0.7, 0.55, 0.8, 0.6), c(-1.5, -0.5, 0.4, 1.3), 1)
  brs[, c(2, 4, 6)] <- 6 - brs[, c(2, 4, 6)]      # items 2, 4, 6 are worded negatively
  soc <- matrix(rnorm(n_members * 3), ncol = 3) %*% chol(matrix(c(1, .45, .4, .45, 1, .5, .4, .5, 1), 3))
  mspss <- matrix(NA, n_members, 12)
  mspss[, c(1, 2, 5, 10)] <- ordinal(soc[, 1], c(.8, .75, .7, .85), c(-1.8, -1.1, -0.5, 0, 0.6, 1.2), 1)
  mspss[, c(3, 4, 8, 11)] <- ordinal(soc[, 2], c(.7, .8, .75, .65), c(-1.6, -1, -0.4, 0.1, 0.7, 1.4), 1)
  mspss[, c(6, 7, 9, 12)] <- ordinal(soc[, 3], c(.75, .7, .8, .6), c(-1.7, -1.2, -0.6, 0, 0.5, 1.3), 1)
  qol <- 0.6 * eta + 0.8 * matrix(rnorm(n_members * 4), ncol = 4)
  who <- matrix(NA, n_members, 26)
  who[, 1:2] <- ordinal(rowMeans(qol), c(.7, .6), c(-1.4, -0.5, 0.5, 1.4), 1)
  dom <- list(c(3, 4, 10, 15, 16, 17, 18), c(5, 6, 7, 11, 19, 26), c(20, 21, 22), c(8, 9, 12, 13, 14, 23, 24, 25))
  for (d in 1:4) {
    who[, dom[[d]]] <- ordinal(qol[, d] / sd(qol[, d]), runif(length(dom[[d]]), 0.45, 0.8), c(-1.4, -0.5, 0.5, 1.4), 1)
  }
  who[, c(3, 4, 26)] <- 6 - who[, c(3, 4, 26)]
  # item non-response, about 3 % of cells
  miss <- function(m) { m[matrix(runif(length(m)) < 0.03, nrow(m))] <- NA; m }
  d <- data.frame(member_id = sprintf("M%04d", 1:n_members), timepoint = timepoints[t],
                  miss(brs), miss(mspss), miss(who))
  names(d) <- c("member_id", "timepoint", paste0("brs_", 1:6), paste0("mspss_", 1:12), paste0("whoqol_bref_", 1:26))
  rows[[t]] <- d
}
data <- do.call(rbind, rows)
write.csv(data, "tests/reference/reliability_psych_data.csv", row.names = FALSE, na = "")

scales <- list(
  list(instrument = "brs", variant = "registry", scale = "score", items = 1:6, reverse = c(2, 4, 6), lo = 1, hi = 5),
  list(instrument = "brs", variant = "no_reverse", scale = "score", items = 1:6, reverse = integer(0), lo = 1, hi = 5),
  list(instrument = "mspss", variant = "registry", scale = "score", items = 1:12, reverse = integer(0), lo = 1, hi = 7),
  list(instrument = "mspss", variant = "registry", scale = "significant_other", items = c(1, 2, 5, 10), reverse = integer(0), lo = 1, hi = 7),
  list(instrument = "mspss", variant = "registry", scale = "family", items = c(3, 4, 8, 11), reverse = integer(0), lo = 1, hi = 7),
  list(instrument = "mspss", variant = "registry", scale = "friends", items = c(6, 7, 9, 12), reverse = integer(0), lo = 1, hi = 7),
  list(instrument = "whoqol_bref", variant = "registry", scale = "physical", items = c(3, 4, 10, 15, 16, 17, 18), reverse = c(3, 4, 26), lo = 1, hi = 5),
  list(instrument = "whoqol_bref", variant = "registry", scale = "psychological", items = c(5, 6, 7, 11, 19, 26), reverse = c(3, 4, 26), lo = 1, hi = 5),
  list(instrument = "whoqol_bref", variant = "registry", scale = "social", items = c(20, 21, 22), reverse = c(3, 4, 26), lo = 1, hi = 5),
  list(instrument = "whoqol_bref", variant = "registry", scale = "environment", items = c(8, 9, 12, 13, 14, 23, 24, 25), reverse = c(3, 4, 26), lo = 1, hi = 5)
)
totals <- list(); itemrows <- list()
for (s in scales) {
  for (tp in c(timepoints, "all")) {
    sub <- if (tp == "all") data else data[data$timepoint == tp, ]
    cols <- paste0(s$instrument, "_", s$items)
    x <- as.matrix(sub[, cols])
    rev_cols <- s$items %in% s$reverse
    x[, rev_cols] <- (s$lo + s$hi) - x[, rev_cols]
    x <- na.omit(x)
    a <- suppressWarnings(suppressMessages(alpha(as.data.frame(x), check.keys = FALSE, warnings = FALSE)))
    om <- suppressWarnings(suppressMessages(omega(x, nfactors = 1, fm = "minres", plot = FALSE)))
    totals[[length(totals) + 1]] <- data.frame(
      instrument = s$instrument, variant = s$variant, timepoint = tp, scale = s$scale, n = nrow(x), k = ncol(x),
      alpha = unname(a$total$raw_alpha), alpha_ci_low = unname(a$feldt$lower.ci), alpha_ci_high = unname(a$feldt$upper.ci),
      omega = om$omega.tot)
    itemrows[[length(itemrows) + 1]] <- data.frame(
      instrument = s$instrument, variant = s$variant, timepoint = tp, scale = s$scale, item = cols,
      r_drop = a$item.stats$r.drop, alpha_if_deleted = a$alpha.drop$raw_alpha)
  }
}
options(digits = 17)
write.csv(do.call(rbind, totals), "tests/reference/reliability_psych.csv", row.names = FALSE)
write.csv(do.call(rbind, itemrows), "tests/reference/reliability_psych_items.csv", row.names = FALSE)
cat("wrote tests/reference/reliability_psych*.csv\n")
