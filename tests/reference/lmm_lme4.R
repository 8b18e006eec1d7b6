# Reference values for groupeval.statistics.lmm (tests/test_lmm_against_lme4.py).
#
# Run from the repository root:   Rscript tests/reference/lmm_lme4.R
# It simulates its own inputs (set.seed), writes them next to this script
# (lmm_<case>_input.csv) and the values computed by lme4 / lmerTest / pbkrtest
# (lmm_<case>_fixed.csv, _vc.csv, _fit.csv, _ftest.csv, _L.csv).  CI does not run R.
#
# Cases:
#   a  well-conditioned: 30 groups, 8-25 members, 3 timepoints, ~10% missing; REML
#   b  4 groups (the intercept-df case); REML
#   c  zero between-group variance: lme4 reports a singular fit (isSingular TRUE); REML
#   d  random slope for time by group: (1 + time | group) + (1 | group:member); REML
#   e  time categorical (4 levels) + group_type (3 levels over 6 groups); F tests; REML
#   f  case a refitted by ML (REML = FALSE)
#
# lme4 is run with tightened optimiser tolerances (nloptwrap/BOBYQA, ftol/xtol 1e-12)
# so that the reference is the optimum itself, not lme4's default stopping point;
# the default-control fit's criterion is written too (fit.csv: crit_default).
# Packages: lme4 1.1-31, lmerTest 3.1-3 (Satterthwaite, contest), pbkrtest 0.5.2 (KR).
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

simulate <- function(G, msize, tps, sd_g, sd_m, sd_e, sd_slope = 0, miss = 0.1, beta = c(10, -0.8, 0.05, 0.4)) {
  gsize <- sample(msize, G, replace = TRUE)
  grp <- data.frame(group = sprintf("G%02d", 1:G), u_g = rnorm(G, 0, sd_g), s_g = rnorm(G, 0, sd_slope),
                    stringsAsFactors = FALSE)
  mem <- data.frame(group = rep(grp$group, gsize), stringsAsFactors = FALSE)
  # member ids repeat across groups on purpose: members are group:member
  mem$member <- sprintf("M%03d", unlist(lapply(gsize, seq_len)))
  mem$u_m <- rnorm(nrow(mem), 0, sd_m)
  mem$x1 <- round(rnorm(nrow(mem), 45, 12))
  long <- merge(mem, grp, by = "group")
  long <- long[rep(seq_len(nrow(long)), each = length(tps)), ]
  long$time <- rep(tps, nrow(mem))
  long$x2 <- rnorm(nrow(long))
  long$y <- beta[1] + long$u_g + long$s_g * long$time + long$u_m + beta[2] * long$time +
    beta[3] * (long$x1 - 45) + beta[4] * long$x2 + rnorm(nrow(long), 0, sd_e)
  drop <- (long$time != tps[1]) & (runif(nrow(long)) < miss)
  long <- long[!drop, ]
  rownames(long) <- NULL
  long[, c("group", "member", "time", "x1", "x2", "y")]
}

fixed_table <- function(m) {
  # Satterthwaite (lmerTest) and Kenward-Roger (pbkrtest via lmerTest) per coefficient
  ss <- summary(m, ddf = "Satterthwaite")$coefficients
  res <- data.frame(term = rownames(ss), estimate = ss[, "Estimate"], se = ss[, "Std. Error"],
                    df_satterthwaite = ss[, "df"], t = ss[, "t value"], p_satterthwaite = ss[, "Pr(>|t|)"],
                    stringsAsFactors = FALSE)
  if (getME(m, "is_REML")) {
    kr <- summary(m, ddf = "Kenward-Roger")$coefficients
    res$se_kr <- kr[, "Std. Error"]
    res$df_kr <- kr[, "df"]
    res$t_kr <- kr[, "t value"]
    res$p_kr <- kr[, "Pr(>|t|)"]
  }
  res
}

vc_table <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  vc$var1[is.na(vc$var1)] <- ""
  vc$var2[is.na(vc$var2)] <- ""
  vc
}

fit_table <- function(m, mdef) {
  th <- getME(m, "theta")
  data.frame(reml = getME(m, "is_REML"), loglik = as.numeric(logLik(m)),
             crit = if (getME(m, "is_REML")) REMLcrit(m) else deviance(m),
             crit_default = if (getME(mdef, "is_REML")) REMLcrit(mdef) else deviance(mdef),
             sigma = sigma(m), is_singular = isSingular(m), n_obs = nobs(m),
             theta_names = paste(names(th), collapse = ";"), theta = paste(format(th, digits = 17), collapse = ";"),
             stringsAsFactors = FALSE)
}

ftests <- function(m, Ls) {
  # Ls: named list of contrast matrices; Satterthwaite via contest, KR via KRmodcomp
  rows <- list()
  for (nm in names(Ls)) {
    L <- Ls[[nm]]
    s <- contest(m, L, ddf = "Satterthwaite", joint = TRUE)
    rows[[length(rows) + 1]] <- data.frame(test = nm, method = "satterthwaite", f = s[["F value"]],
                                           ndf = s[["NumDF"]], ddf = s[["DenDF"]], p = s[["Pr(>F)"]],
                                           f_scaling = NA_real_)
    if (!getME(m, "is_REML")) next  # pbkrtest's KR is defined for REML fits only
    k <- KRmodcomp(m, L)$test
    rows[[length(rows) + 1]] <- data.frame(test = nm, method = "kenward-roger", f = k["Ftest", "stat"],
                                           ndf = k["Ftest", "ndf"], ddf = k["Ftest", "ddf"],
                                           p = k["Ftest", "p.value"], f_scaling = k["Ftest", "F.scaling"])
    # lmerTest's own KR path gives the same numbers (checked here, not written)
    s2 <- contest(m, L, ddf = "Kenward-Roger", joint = TRUE)
    stopifnot(abs(s2[["F value"]] - k["Ftest", "stat"]) < 1e-8)
  }
  do.call(rbind, rows)
}

write_L <- function(Ls, name) {
  rows <- list()
  for (nm in names(Ls)) {
    L <- Ls[[nm]]
    d <- as.data.frame(L)
    d <- cbind(test = nm, row = seq_len(nrow(L)), d)
    rows[[length(rows) + 1]] <- d
  }
  out(do.call(rbind, rows), name)
}

run_case <- function(case, dat, formula, reml = TRUE, Ls = NULL) {
  out(dat, sprintf("lmm_%s_input.csv", case))
  m <- lmer(formula, data = dat, REML = reml, control = tight)
  mdef <- lmer(formula, data = dat, REML = reml)
  out(fixed_table(m), sprintf("lmm_%s_fixed.csv", case))
  out(vc_table(m), sprintf("lmm_%s_vc.csv", case))
  out(fit_table(m, mdef), sprintf("lmm_%s_fit.csv", case))
  if (!is.null(Ls)) {
    Ls <- lapply(Ls, function(L) { colnames(L) <- names(fixef(m)); L })
    write_L(Ls, sprintf("lmm_%s_L.csv", case))
    out(ftests(m, Ls), sprintf("lmm_%s_ftest.csv", case))
  }
  invisible(m)
}

# (a) well-conditioned
set.seed(101)
da <- simulate(G = 30, msize = 8:25, tps = c(0, 1, 2), sd_g = 0.7, sd_m = 1.2, sd_e = 1)
fa <- y ~ time + x1 + x2 + (1 | group) + (1 | group:member)
La <- list(time_x2 = rbind(c(0, 1, 0, 0), c(0, 0, 0, 1)), time = rbind(c(0, 1, 0, 0)))
run_case("a", da, fa, Ls = La)

# (b) 4 groups
set.seed(202)
db <- simulate(G = 4, msize = 12:18, tps = c(0, 1, 2), sd_g = 1.5, sd_m = 1, sd_e = 1)
run_case("b", db, y ~ time + x1 + (1 | group) + (1 | group:member))

# (c) zero between-group variance -> singular fit (first seed from 303 on whose tight fit is singular)
seed <- 303
repeat {
  set.seed(seed)
  dc <- simulate(G = 8, msize = 6:12, tps = c(0, 1, 2), sd_g = 0, sd_m = 1, sd_e = 1)
  mc <- lmer(y ~ time + x2 + (1 | group) + (1 | group:member), data = dc, control = tight)
  if (isSingular(mc)) break
  seed <- seed + 1
}
cat("case c seed:", seed, "\n")
run_case("c", dc, y ~ time + x2 + (1 | group) + (1 | group:member))

# (d) random slope for time by group, correlated with the intercept
set.seed(404)
dd <- simulate(G = 20, msize = 8:16, tps = c(0, 1, 2, 3), sd_g = 0.8, sd_m = 1, sd_e = 0.8, sd_slope = 0.4)
run_case("d", dd, y ~ time + x2 + (1 + time | group) + (1 | group:member),
         Ls = list(time = rbind(c(0, 1, 0)), time_x2 = rbind(c(0, 1, 0), c(0, 0, 1))))

# (e) time categorical with 4 timepoints, group_type with 3 levels over 6 groups
set.seed(505)
de <- simulate(G = 6, msize = 10:16, tps = c(0, 1, 2, 3), sd_g = 0.6, sd_m = 1, sd_e = 1)
de$group_type <- c("A", "A", "B", "B", "C", "C")[match(de$group, sort(unique(de$group)))]
de$y <- de$y + c(A = 0, B = 0.8, C = -0.5)[de$group_type] + c(0, -0.3, -0.2, 0.4)[de$time + 1]
de$time_f <- factor(de$time)
fe <- y ~ time_f + group_type + x1 + (1 | group) + (1 | group:member)
Le <- list(group_type = rbind(c(0, 0, 0, 0, 1, 0, 0), c(0, 0, 0, 0, 0, 1, 0)),
           time_f = rbind(c(0, 1, 0, 0, 0, 0, 0), c(0, 0, 1, 0, 0, 0, 0), c(0, 0, 0, 1, 0, 0, 0)),
           b_vs_c = rbind(c(0, 0, 0, 0, 1, -1, 0)),
           mixed = rbind(c(0, 1, -1, 0, 0.5, 0, 0), c(1, 0, 0, 1, 0, 0, 0)))
me <- run_case("e", de, fe, Ls = Le)
# lmerTest's type III anova on the same model (the group_type and time_f rows equal the contests above)
av <- rbind(cbind(method = "satterthwaite", as.data.frame(anova(me, type = 3, ddf = "Satterthwaite"))),
            cbind(method = "kenward-roger", as.data.frame(anova(me, type = 3, ddf = "Kenward-Roger"))))
av$term <- rep(rownames(anova(me, type = 3)), 2)
out(av, "lmm_e_anova.csv")

# (f) case a by ML
run_case("f", da, fa, reml = FALSE, Ls = La)
cat("done\n")
