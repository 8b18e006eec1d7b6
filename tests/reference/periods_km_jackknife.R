# Reference values for the Kaplan-Meier period comparison of groupeval.statistics.periods
# (tests/test_periods_against_R.py): retention at t per period with Greenwood log-log intervals, and the
# delete-one-group jackknife of the difference between two periods, by a direct loop over groups.
#
# Run from the repository root:   Rscript tests/reference/periods_km_jackknife.R
#
# It simulates its own input (set.seed): members of G groups in two periods (the same groups in both, one
# group in one period only), a shared group frailty, some members entering late (left truncation:
# Surv(entry, time, event) with entry > 0), censoring.  Writes, next to this script:
#   periods_km_input.csv       dataset, group_id, in_period (1 = period, 0 = compare), entry, time, event
#   periods_km_ref.csv         per dataset, period and t: surv, std_err (Greenwood, of S), ci_low, ci_high
#                              (log-log, 95 %), se_jack, ci_low_jack, ci_high_jack (jackknife on the
#                              log-log scale, t with G - 1 df; G = groups in that period)
#   periods_km_diff.csv        per dataset and t: difference S_period(t) - S_compare(t), se (jackknife over
#                              the groups of either period), df (G - 1), ci_low, ci_high, p_value
#   periods_km_replicates.csv  per dataset, t and deleted group: S_period, S_compare without that group
# Numbers are written with 17 significant digits.  CI does not run R.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
num17 <- function(df) {
  for (nm in names(df)) if (is.double(df[[nm]])) df[[nm]] <- sprintf("%.17g", df[[nm]])
  df
}

sim <- function(G, sizes_a, sizes_b, late = 0.2) {
  frail <- exp(rnorm(G, 0, 0.5))
  g <- c(rep(seq_len(G), sizes_a), rep(seq_len(G), sizes_b))
  p <- c(rep(1, sum(sizes_a)), rep(0, sum(sizes_b)))
  n <- length(g)
  rate <- 0.02 * frail[g] * ifelse(p == 1, 0.8, 1)
  t_drop <- round(7 * rexp(n, rate)) / 7                   # weeks, on the day grid
  t_cens <- round(7 * runif(n, 10, 45)) / 7
  entry <- ifelse(runif(n) < late, round(7 * runif(n, 1, 8)) / 7, 0)
  time <- pmin(t_drop, t_cens)
  event <- as.integer(t_drop <= t_cens)
  keep <- time > entry & time > 0
  data.frame(group_id = sprintf("G%02d", g), in_period = p, entry = entry, time = time, event = event,
             stringsAsFactors = FALSE)[keep, ]
}

km_at <- function(d, t) {
  fit <- survfit(Surv(entry, time, event) ~ 1, data = d, conf.type = "log-log")
  s <- summary(fit, times = t, extend = TRUE)
  c(surv = s$surv, std_err = s$std.err, ci_low = s$lower, ci_high = s$upper)
}

sets <- list()
set.seed(3101)
sets$km8 <- sim(8, c(25, 18, 30, 12, 22, 0, 15, 27), c(20, 24, 16, 28, 14, 19, 0, 23))
set.seed(3102)
sets$km12 <- sim(12, c(12, 8, 15, 9, 11, 14, 7, 10, 13, 6, 9, 12), c(10, 13, 6, 12, 9, 8, 14, 11, 7, 12, 10, 0))

ref <- list(); dif <- list(); reps <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  for (t in c(12, 26)) {
    groups <- sort(unique(d$group_id))
    full <- sapply(c(1, 0), function(p) km_at(d[d$in_period == p, ], t)["surv"])
    rs <- t(sapply(groups, function(g) {            # the direct loop over groups
      dd <- d[d$group_id != g, ]
      sapply(c(1, 0), function(p) {
        dp <- dd[dd$in_period == p, ]
        if (sum(dp$group_id %in% groups) == 0) NA else km_at(dp, t)["surv"]
      })
    }))
    colnames(rs) <- c("period", "compare")
    reps[[length(reps) + 1]] <- data.frame(dataset = nm, t = t, group_id = groups, s_period = rs[, 1],
                                           s_compare = rs[, 2], stringsAsFactors = FALSE)
    G <- length(groups)
    th <- rs[, 1] - rs[, 2]
    se <- sqrt((G - 1) / G * sum((th - mean(th))^2))
    est <- full[1] - full[2]
    q <- qt(0.975, G - 1)
    dif[[length(dif) + 1]] <- data.frame(dataset = nm, t = t, difference = est, se = se, df = G - 1,
                                         ci_low = est - q * se, ci_high = est + q * se,
                                         p_value = 2 * pt(-abs(est / se), G - 1))
    for (p in c(1, 0)) {
      dp <- d[d$in_period == p, ]
      k <- km_at(dp, t)
      gp <- sort(unique(dp$group_id))
      Gp <- length(gp)
      sj <- sapply(gp, function(g) km_at(dp[dp$group_id != g, ], t)["surv"])
      se_j <- sqrt((Gp - 1) / Gp * sum((sj - mean(sj))^2))
      w <- qt(0.975, Gp - 1) * se_j / (k[["surv"]] * abs(log(k[["surv"]])))
      ref[[length(ref) + 1]] <- data.frame(dataset = nm, in_period = p, t = t, surv = k[["surv"]],
                                           std_err = k[["std_err"]], ci_low = k[["ci_low"]],
                                           ci_high = k[["ci_high"]], se_jack = se_j,
                                           ci_low_jack = k[["surv"]]^exp(w), ci_high_jack = k[["surv"]]^exp(-w))
    }
  }
}
inp <- do.call(rbind, lapply(names(sets), function(nm) cbind(dataset = nm, sets[[nm]])))
write.csv(num17(inp), file.path(here, "periods_km_input.csv"), row.names = FALSE)
write.csv(num17(do.call(rbind, ref)), file.path(here, "periods_km_ref.csv"), row.names = FALSE)
write.csv(num17(do.call(rbind, dif)), file.path(here, "periods_km_diff.csv"), row.names = FALSE)
write.csv(num17(do.call(rbind, reps)), file.path(here, "periods_km_replicates.csv"), row.names = FALSE)
