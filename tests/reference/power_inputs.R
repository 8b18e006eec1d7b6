# Reference values for groupeval.statistics.power.power_inputs.  Run from the repository root:
#     Rscript tests/reference/power_inputs.R
# Simulates long scores (members nested in groups, baseline and week_26, some
# members lost to follow-up, a few with a follow-up only) and writes
#   tests/reference/power_inputs_scores.csv  -- the input (member_id, group_id, timepoint, score)
#   tests/reference/power_inputs_ref.csv     -- dataset, quantity, estimate, ci_low, ci_high, n
# ICC(1): one-way ANOVA (aov) with n0 and the F-based interval; for the balanced
# data set also lme4 REML (equal to the ANOVA estimator there when positive).
# SD: chi-square interval; r: cor.test (Fisher z); attrition: prop.test(correct = FALSE)
# (Wilson); mean group size: t.test over groups; CV of analysed and of baseline group sizes:
# sd/mean (point estimates only).
suppressPackageStartupMessages(library(lme4))
set.seed(20240615)

simulate <- function(sizes, icc_pre, icc_change, r, lost, post_only, label) {
  k <- length(sizes)
  g <- rep(sprintf("%s_g%02d", label, seq_len(k)), sizes)
  n <- length(g)
  u <- rnorm(k, 0, sqrt(icc_pre))[as.integer(factor(g))]
  v <- rnorm(k, 0, sqrt(icc_change))[as.integer(factor(g))]
  pre <- 20 + 5 * (u + rnorm(n, 0, sqrt(1 - icc_pre)))
  post <- 20 + 2 + r * (pre - 20) + 5 * sqrt(1 - r^2) * rnorm(n) + 5 * v
  id <- sprintf("%s_m%04d", label, seq_len(n))
  drop <- sample(n, round(lost * n))
  post[drop] <- NA
  nopre <- sample(setdiff(seq_len(n), drop), post_only)
  pre[nopre] <- NA
  long <- rbind(data.frame(member_id = id, group_id = g, timepoint = "baseline", score = pre),
                data.frame(member_id = id, group_id = g, timepoint = "week_26", score = post))
  long <- long[!is.na(long$score), ]
  long$dataset <- label
  long
}

icc1 <- function(y, g, ci = 0.95) {
  g <- factor(g)
  tab <- summary(aov(y ~ g))[[1]]
  msb <- tab[1, "Mean Sq"]; msw <- tab[2, "Mean Sq"]; df1 <- tab[1, "Df"]; df2 <- tab[2, "Df"]
  nj <- as.numeric(table(g)); N <- sum(nj)
  n0 <- (N - sum(nj^2) / N) / df1
  Fv <- msb / msw
  fl <- Fv / qf(0.5 + ci / 2, df1, df2); fu <- Fv * qf(0.5 + ci / 2, df2, df1)
  c(estimate = (msb - msw) / (msb + (n0 - 1) * msw), ci_low = (fl - 1) / (fl + n0 - 1),
    ci_high = (fu - 1) / (fu + n0 - 1), n = N)
}

reference <- function(long) {
  label <- long$dataset[1]
  w <- reshape(long[, c("member_id", "group_id", "timepoint", "score")], idvar = c("member_id", "group_id"),
               timevar = "timepoint", direction = "wide")
  names(w) <- sub("score.", "", names(w), fixed = TRUE)
  out <- list()
  put <- function(q, est, lo, hi, n) out[[length(out) + 1]] <<- data.frame(dataset = label, quantity = q,
    estimate = est, ci_low = lo, ci_high = hi, n = n)
  hp <- !is.na(w$baseline); hf <- !is.na(w$week_26); both <- hp & hf
  x <- icc1(w$week_26[hf], w$group_id[hf]); put("icc_followup", x[1], x[2], x[3], x[4])
  ch <- w$week_26 - w$baseline
  x <- icc1(ch[both], w$group_id[both]); put("icc_change", x[1], x[2], x[3], x[4])
  for (q in c("sd_pre", "sd_post", "sd_change")) {
    y <- switch(q, sd_pre = w$baseline[hp], sd_post = w$week_26[hf], sd_change = ch[both])
    n <- length(y); s <- sd(y)
    put(q, s, s * sqrt((n - 1) / qchisq(0.975, n - 1)), s * sqrt((n - 1) / qchisq(0.025, n - 1)), n)
  }
  ct <- cor.test(w$baseline[both], w$week_26[both])
  put("pre_post_r", unname(ct$estimate), ct$conf.int[1], ct$conf.int[2], sum(both))
  lost <- sum(hp & !hf)
  pt <- prop.test(lost, sum(hp), correct = FALSE)
  put("attrition", lost / sum(hp), pt$conf.int[1], pt$conf.int[2], sum(hp))
  sizes <- as.numeric(table(w$group_id[hp]))
  ci_m <- if (sd(sizes) > 0) t.test(sizes)$conf.int else rep(mean(sizes), 2)  # equal sizes: no spread
  put("mean_group_size", mean(sizes), ci_m[1], ci_m[2], length(sizes))
  gl <- factor(w$group_id, levels = names(table(w$group_id[hp])))  # groups with a baseline member
  an <- as.numeric(table(gl[both]))                                   # analysed per group (0 kept)
  put("cv_group_size", sd(an) / mean(an), NA, NA, length(sizes))
  put("cv_group_size_baseline", sd(sizes) / mean(sizes), NA, NA, length(sizes))
  if (length(unique(sizes)) == 1 && all(both)) {
    w$change <- ch
    for (v in c("week_26", "change")) {
      fit <- lmer(reformulate("1 + (1 | group_id)", v), data = w, REML = TRUE)
      vcs <- as.data.frame(VarCorr(fit))$vcov
      put(if (v == "change") "icc_change_lme4" else "icc_followup_lme4", vcs[1] / sum(vcs), NA, NA, nrow(w))
    }
  }
  do.call(rbind, out)
}

unequal <- simulate(sample(5:22, 14, replace = TRUE), icc_pre = 0.08, icc_change = 0.06, r = 0.6,
                    lost = 0.3, post_only = 4, label = "unequal")
balanced <- simulate(rep(12, 10), icc_pre = 0.3, icc_change = 0.15, r = 0.5, lost = 0, post_only = 0,
                     label = "balanced")
scores <- rbind(unequal, balanced)
write.csv(scores, "tests/reference/power_inputs_scores.csv", row.names = FALSE)
ref <- rbind(reference(unequal), reference(balanced))
write.csv(ref, "tests/reference/power_inputs_ref.csv", row.names = FALSE)
cat(sprintf("wrote %d score rows and %d reference values\n", nrow(scores), nrow(ref)))
