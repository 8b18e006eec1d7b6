# Reference values for groupeval.mixed_model (tests/test_mixed_model_against_lmerTest.py).
#
# Run from the repository root:   Rscript tests/reference/mixed_model_lmertest.R
# It simulates its own input (set.seed) and writes it next to this script
# (mixed_input.csv, mixed_input_singular.csv) with the values computed by lme4 / lmerTest /
# pbkrtest (mixed_ref_fixed.csv, mixed_ref_anova.csv, mixed_ref_contrasts.csv, mixed_ref_fit.csv).
# CI does not run R.
#
# Data: 12 groups (group_type A/B/C, 4 groups each; facilitation peer/professional, 6 each,
# crossed with type), 6-14 members per group, 4 timepoints (baseline, week_6, week_12, week_26),
# random group intercepts and slopes on weeks, member intercepts, age, ~15% missing follow-ups.
# Models (REML unless said; members nested in groups: (1 | group_id) + (1 | group_id:member_id)):
#   A  score ~ timepoint * group_type + age                       (time categorical, 4 levels)
#   B  score ~ week * group_type                                  (time linear, in weeks)
#   C  score ~ week + facilitation + (1 + week | group_id) + (1 | group_id:member_id)   (random slope)
#   D  score ~ timepoint + facilitation + age                     (group-level covariate)
#   E  score ~ timepoint, zero between-group variance: singular fit (isSingular TRUE)
#   F  model A by ML
# For each: fixed effects with Satterthwaite and Kenward-Roger t tests, type III anova (both
# ddf), estimated means and changes from baseline as contest() rows (L = column means of the
# model matrix with timepoint / week / group_type set, i.e. covariates at their means), fit.
# lme4 runs with tightened optimiser tolerances so that the reference is the optimum itself.
# Packages: lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
out <- function(df, name) write.csv(df, file.path(here, name), row.names = FALSE)
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(ftol_abs = 1e-14, ftol_rel = 1e-14, xtol_abs = 1e-12, xtol_rel = 1e-12,
                                    maxeval = 1e5),
                     check.conv.singular = "ignore")
tps <- c("baseline", "week_6", "week_12", "week_26")
weeks <- c(0, 6, 12, 26)
types <- c("A", "B", "C")

simulate <- function(G, sd_g, sd_s, sd_m, sd_e, type_eff, type_slope) {
  gsize <- sample(6:14, G, replace = TRUE)
  grp <- data.frame(group_id = sprintf("G%02d", 1:G), group_type = rep(types, length.out = G),
                    facilitation = rep(c("peer", "professional"), each = G / 2),
                    u_g = rnorm(G, 0, sd_g), s_g = rnorm(G, 0, sd_s), stringsAsFactors = FALSE)
  mem <- data.frame(group_id = rep(grp$group_id, gsize), stringsAsFactors = FALSE)
  mem$member_id <- sprintf("M%03d", seq_len(nrow(mem)))
  mem$u_m <- rnorm(nrow(mem), 0, sd_m)
  mem$age <- round(runif(nrow(mem), 20, 70))
  long <- merge(mem, grp, by = "group_id")
  long <- long[rep(seq_len(nrow(long)), each = length(tps)), ]
  long$timepoint <- rep(tps, nrow(mem))
  long$week <- weeks[match(long$timepoint, tps)]
  long$score <- round(20 + long$u_g + long$s_g * long$week + long$u_m - 0.12 * long$week +
    type_eff[long$group_type] + type_slope[long$group_type] * long$week + 0.04 * (long$age - 45) +
    rnorm(nrow(long), 0, sd_e), 3)
  drop <- (long$timepoint != "baseline") & (runif(nrow(long)) < 0.15)
  long <- long[!drop, ]
  long <- long[order(long$member_id, long$week), ]
  rownames(long) <- NULL
  long[, c("member_id", "group_id", "group_type", "facilitation", "timepoint", "week", "age", "score")]
}

prep <- function(d) {
  d$timepoint <- factor(d$timepoint, levels = tps)
  d$group_type <- factor(d$group_type, levels = types)
  d$facilitation <- factor(d$facilitation)
  d
}

fixed_rows <- function(m, label) {
  s <- summary(m, ddf = "Satterthwaite")$coefficients
  res <- data.frame(model = label, term = rownames(s), estimate = s[, "Estimate"], se = s[, "Std. Error"],
                    df = s[, "df"], t = s[, "t value"], p_value = s[, "Pr(>|t|)"],
                    se_kr = NA_real_, df_kr = NA_real_, t_kr = NA_real_, p_kr = NA_real_, stringsAsFactors = FALSE)
  if (getME(m, "is_REML")) {
    k <- summary(m, ddf = "Kenward-Roger")$coefficients
    res$se_kr <- k[, "Std. Error"]; res$df_kr <- k[, "df"]; res$t_kr <- k[, "t value"]; res$p_kr <- k[, "Pr(>|t|)"]
  }
  res
}

anova_rows <- function(m, label) {
  meths <- if (getME(m, "is_REML")) c("Satterthwaite", "Kenward-Roger") else "Satterthwaite"
  do.call(rbind, lapply(meths, function(dd) {
    a <- as.data.frame(anova(m, type = 3, ddf = dd))
    data.frame(model = label, method = tolower(dd), term = rownames(a), f = a[["F value"]], num_df = a$NumDF,
               den_df = a$DenDF, p_value = a[["Pr(>F)"]], stringsAsFactors = FALSE)
  }))
}

# design row of a mean: column means of the model matrix with time (and group type) set
cell_L <- function(m, dat, tp, gt = NULL) {
  nd <- dat
  nd$timepoint <- factor(rep(tp, nrow(nd)), levels = tps)
  nd$week <- weeks[match(tp, tps)]
  if (!is.null(gt)) nd$group_type <- factor(rep(gt, nrow(nd)), levels = types)
  colMeans(model.matrix(delete.response(terms(m)), nd))
}

contrast_rows <- function(m, dat, label, by_type) {
  meths <- if (getME(m, "is_REML")) c("Satterthwaite", "Kenward-Roger") else "Satterthwaite"
  lev <- if (by_type) types else NA
  rows <- list()
  for (gt in lev) {
    g <- if (is.na(gt)) NULL else gt
    Ls <- t(sapply(tps, function(tp) cell_L(m, dat, tp, g)))
    Lc <- sweep(Ls[-1, , drop = FALSE], 2, Ls[1, ])
    for (dd in meths) {
      for (kind in c("mean", "change")) {
        L <- if (kind == "mean") Ls else Lc
        cc <- contest(m, L, joint = FALSE, ddf = dd, level = 0.95)
        rows[[length(rows) + 1]] <- data.frame(
          model = label, method = tolower(dd), kind = kind, by = if (is.na(gt)) "" else gt,
          timepoint = if (kind == "mean") tps else tps[-1], estimate = cc$Estimate, se = cc[["Std. Error"]],
          df = cc$df, t = cc[["t value"]], p_value = cc[["Pr(>|t|)"]], ci_low = cc$lower, ci_high = cc$upper,
          stringsAsFactors = FALSE)
      }
    }
  }
  do.call(rbind, rows)
}

fit_row <- function(m, label) {
  vc <- as.data.frame(VarCorr(m))
  pick <- function(grp, v1, v2 = NA) {
    s <- vc$grp == grp & vc$var1 %in% v1 & (if (is.na(v2)) is.na(vc$var2) else vc$var2 %in% v2)
    if (any(s)) vc$vcov[s][1] else NA_real_
  }
  data.frame(model = label, reml = getME(m, "is_REML"), loglik = as.numeric(logLik(m)),
             is_singular = isSingular(m), var_group = pick("group_id", "(Intercept)"),
             var_slope = pick("group_id", "week"), cov_group_slope = pick("group_id", "(Intercept)", "week"),
             var_member = pick("group_id:member_id", "(Intercept)"), var_residual = pick("Residual", NA),
             n_obs = nobs(m), stringsAsFactors = FALSE)
}

run <- function(label, formula, dat, by_type, reml = TRUE) {
  m <- lmer(formula, data = dat, REML = reml, control = tight)
  list(fixed = fixed_rows(m, label), anova = anova_rows(m, label),
       contrasts = contrast_rows(m, dat, label, by_type), fit = fit_row(m, label))
}

set.seed(20261204)
raw <- simulate(12, sd_g = 1.2, sd_s = 0.05, sd_m = 2, sd_e = 2.5, type_eff = c(A = 0, B = 1, C = -1),
                type_slope = c(A = 0, B = -0.03, C = 0.02))
out(raw, "mixed_input.csv")
d <- prep(raw)
nest <- "(1 | group_id) + (1 | group_id:member_id)"
res <- list(
  run("A", as.formula(paste("score ~ timepoint * group_type + age +", nest)), d, TRUE),
  run("B", as.formula(paste("score ~ week * group_type +", nest)), d, TRUE),
  run("C", score ~ week + facilitation + (1 + week | group_id) + (1 | group_id:member_id), d, FALSE),
  run("D", as.formula(paste("score ~ timepoint + facilitation + age +", nest)), d, FALSE),
  run("F", as.formula(paste("score ~ timepoint * group_type + age +", nest)), d, TRUE, reml = FALSE))

# E: zero between-group variance -> singular (first seed from 31 whose tight fit is singular)
seed <- 31
repeat {
  set.seed(seed)
  rs <- simulate(8, sd_g = 0, sd_s = 0, sd_m = 2, sd_e = 2.5, type_eff = c(A = 0, B = 0, C = 0),
                 type_slope = c(A = 0, B = 0, C = 0))
  ms <- lmer(as.formula(paste("score ~ timepoint +", nest)), data = prep(rs), control = tight)
  if (isSingular(ms)) break
  seed <- seed + 1
}
cat("case E seed:", seed, "\n")
out(rs, "mixed_input_singular.csv")
res[[length(res) + 1]] <- run("E", as.formula(paste("score ~ timepoint +", nest)), prep(rs), FALSE)

for (part in c("fixed", "anova", "contrasts", "fit")) {
  out(do.call(rbind, lapply(res, `[[`, part)), sprintf("mixed_ref_%s.csv", part))
}
cat("done\n")
