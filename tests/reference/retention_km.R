# Reference values for groupeval.statistics.retention / cox_model / logrank (helper D; cluster-aware
# defaults added by h/retention).
# Inputs (written by retention_input.py): retention_km_input.csv (the test
# programme) and retention_sample_input.csv (the shipped sample programme):
# member_id, group_id, group_type, entry_weeks, time_weeks, event, facilitation.  Members not left-truncated have entry_weeks = 0; in R's
# counting-process form they get entry = -1 (at risk from time 0, events at 0
# allowed), late entrants entry = entry_weeks (at risk on (entry, time]).
# Run from the repo root:  Rscript tests/reference/retention_km.R
suppressMessages(library(survival))
here <- "tests/reference"
d <- read.csv(file.path(here, "retention_km_input.csv"), stringsAsFactors = FALSE)
d$entry <- ifelse(d$entry_weeks > 0, d$entry_weeks, -1)
d$time <- d$time_weeks
cat("R", R.version.string, " survival", as.character(packageVersion("survival")), "\n")

tab <- function(fit, stratum) {
  s <- summary(fit, censored = TRUE)
  data.frame(stratum = stratum, time = s$time, at_risk = s$n.risk, events = s$n.event,
             censored = s$n.censor, retention = s$surv, std_err = s$std.err / s$surv,
             ci_low = s$lower, ci_high = s$upper)
}
# ---- Kaplan-Meier, overall and by group type (log-log CIs, late entry) ----
f0 <- survfit(Surv(entry, time, event) ~ 1, data = d, conf.type = "log-log")
out <- tab(f0, "overall")
for (g in sort(unique(d$group_type))) {
  fg <- survfit(Surv(entry, time, event) ~ 1, data = d[d$group_type == g, ], conf.type = "log-log")
  out <- rbind(out, tab(fg, g))
}
write.csv(out, file.path(here, "retention_km_table.csv"), row.names = FALSE)

# ---- retention at chosen weeks and median with CI ----
times <- c(0, 4, 8, 12, 26, 100)
at <- NULL; med <- NULL
for (g in c("overall", sort(unique(d$group_type)))) {
  dd <- if (g == "overall") d else d[d$group_type == g, ]
  f <- survfit(Surv(entry, time, event) ~ 1, data = dd, conf.type = "log-log")
  s <- summary(f, times = times, extend = TRUE)
  at <- rbind(at, data.frame(stratum = g, time = s$time, at_risk = s$n.risk, retention = s$surv,
                             ci_low = s$lower, ci_high = s$upper))
  q <- quantile(f, 0.5)
  med <- rbind(med, data.frame(stratum = g, median = unname(q$quantile), ci_low = unname(q$lower),
                               ci_high = unname(q$upper)))
}
write.csv(at, file.path(here, "retention_km_at.csv"), row.names = FALSE)
write.csv(med, file.path(here, "retention_km_median.csv"), row.names = FALSE)

# ---- log-rank ----
# (a) members observed from enrolment only: survdiff
d0 <- d[d$entry_weeks == 0, ]
sd0 <- survdiff(Surv(time, event) ~ group_type, data = d0)
# (b) everybody, late entry: survdiff has no counting-process form, so the
#     log-rank statistic is computed here directly from the risk sets
#     entry < t <= time (the textbook O - E and hypergeometric variance);
#     the same code on (a) must reproduce survdiff.
logrank_cp <- function(entry, time, event, g) {
  lev <- sort(unique(g)); k <- length(lev)
  ut <- sort(unique(time[event == 1]))
  OE <- rep(0, k); V <- matrix(0, k, k)
  for (t in ut) {
    risk <- entry < t & time >= t
    nj <- sapply(lev, function(l) sum(risk & g == l))
    dj <- sapply(lev, function(l) sum(time == t & event == 1 & g == l))
    n <- sum(nj); dd <- sum(dj)
    OE <- OE + dj - dd * nj / n
    if (n > 1) V <- V + dd * (n - dd) / (n - 1) * (diag(nj / n) - outer(nj / n, nj / n))
  }
  i <- 1:(k - 1)
  drop(t(OE[i]) %*% solve(V[i, i]) %*% OE[i])
}
lr0 <- logrank_cp(rep(-1, nrow(d0)), d0$time, d0$event, d0$group_type)
stopifnot(abs(lr0 - sd0$chisq) < 1e-8)
lr1 <- logrank_cp(d$entry, d$time, d$event, d$group_type)
lr <- data.frame(case = c("no_late_entry_survdiff", "late_entry_counting_process"),
                 statistic = c(sd0$chisq, lr1), df = c(length(sd0$n) - 1, length(unique(d$group_type)) - 1))
lr$p_value <- pchisq(lr$statistic, lr$df, lower.tail = FALSE)
write.csv(lr, file.path(here, "retention_logrank.csv"), row.names = FALSE)

# ---- Cox model, robust SEs clustered by group ----
cox_rows <- function(fit, case) {
  data.frame(case = case, term = names(coef(fit)), coef = unname(coef(fit)),
             se = sqrt(diag(fit$var)), se_model = sqrt(diag(fit$naive.var)))
}
c1 <- coxph(Surv(entry, time, event) ~ group_type + facilitation, data = d, cluster = group_id,
            control = coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100))
c2 <- coxph(Surv(time, event) ~ group_type + facilitation, data = d0, cluster = group_id,
            control = coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100))
write.csv(rbind(cox_rows(c1, "late_entry"), cox_rows(c2, "no_late_entry")),
          file.path(here, "retention_cox.csv"), row.names = FALSE)

# =====================================================================================================
# Cluster-aware defaults (h/retention): clustered KM intervals, robust score test, Mancl-DeRouen Cox
# =====================================================================================================
ds <- read.csv(file.path(here, "retention_sample_input.csv"), stringsAsFactors = FALSE)
ds$entry <- ifelse(ds$entry_weeks > 0, ds$entry_weeks, -1)
ds$time <- ds$time_weeks
progs <- list(test = d, sample = ds)

# ---- KM with the group-clustered (robust, infinitesimal-jackknife) variance ----
# R gives the robust standard error (survfit(cluster =)); groupeval's interval rescales it by G/(G-1)
# and uses t(G-1) below 30 groups: the same log-log formula as R's survfit_confint, written out here
# (and checked against R's own interval with the normal quantile).
loglog <- function(s, se, q) {
  xx <- ifelse(s == 0 | s == 1, NA, s)
  list(lower = exp(-exp(log(-log(xx)) - q * se / log(xx))), upper = exp(-exp(log(-log(xx)) + q * se / log(xx))))
}
kmc <- NULL
for (prog in names(progs)) {
  dd0 <- progs[[prog]]
  for (g in c("overall", sort(unique(dd0$group_type)))) {
    dd <- if (g == "overall") dd0 else dd0[dd0$group_type == g, ]
    G <- length(unique(dd$group_id))
    fr <- survfit(Surv(entry, time, event) ~ 1, data = dd, cluster = group_id, conf.type = "log-log")
    sr <- summary(fr, censored = TRUE)
    se <- sr$std.err / sr$surv                         # robust se of log S (R stores it on the S scale)
    z <- loglog(sr$surv, se, qnorm(0.975))
    ok <- !is.na(z$lower)
    stopifnot(max(abs(z$lower[ok] - sr$lower[ok])) < 1e-10, max(abs(z$upper[ok] - sr$upper[ok])) < 1e-10)
    if (G < 30) { se_c <- se * sqrt(G / (G - 1)); q <- qt(0.975, G - 1); df <- G - 1 } else {
      se_c <- se; q <- qnorm(0.975); df <- Inf }
    ci <- loglog(sr$surv, se_c, q)
    kmc <- rbind(kmc, data.frame(programme = prog, stratum = g, time = sr$time, retention = sr$surv,
                                 std_err_robust = se, std_err_cluster = se_c, n_groups = G, df_cluster = df,
                                 ci_low_cluster = ci$lower, ci_high_cluster = ci$upper))
  }
}
write.csv(kmc, file.path(here, "retention_cluster_km.csv"), row.names = FALSE)

# ---- robust score (log-rank) test clustered by group: coxph(... + cluster(group_id))$robscore ----
rs <- NULL
for (prog in names(progs)) {
  dd <- progs[[prog]]
  for (fac in c("group_type", "facilitation")) {
    f <- coxph(as.formula(paste("Surv(entry, time, event) ~", fac, "+ cluster(group_id)")), data = dd,
               ties = "breslow")
    sc <- summary(f)$robscore
    rs <- rbind(rs, data.frame(programme = prog, factor = fac, statistic = unname(sc["test"]),
                               df = unname(sc["df"]), p_value = unname(sc["pvalue"]),
                               n_groups = length(unique(dd$group_id))))
  }
}
write.csv(rs, file.path(here, "retention_cluster_test.csv"), row.names = FALSE)

# ---- Cox: Mancl-DeRouen variance with Efron ties (cox_model's default below 30 groups) ----
# Each member's share of the Efron information, J_i = sum over event times and Efron sub-steps r of
# c_i w_i (x_i - xbar_r)(x_i - xbar_r)' / S0_r, with c_i = 1 - r/d for the d tied deaths and 1 for the
# others at risk; a plain loop over event times (independent of groupeval's cumulative sums), checked
# to add up to the information matrix solve(fit$naive.var).
md_rows <- function(dd, prog, covs) {
  f <- coxph(as.formula(paste("Surv(entry, time, event) ~", paste(covs, collapse = " + "))), data = dd,
             cluster = group_id, ties = "efron", control = coxph.control(eps = 1e-12, toler.chol = 1e-14,
                                                                          iter.max = 100))
  b <- coef(f); A <- f$naive.var; p <- length(b)
  X <- model.matrix(f)
  w <- exp(drop(X %*% b))
  J <- array(0, c(nrow(dd), p, p))
  for (t in sort(unique(dd$time[dd$event == 1]))) {
    risk <- which(dd$entry < t & dd$time >= t)
    dead <- risk[dd$time[risk] == t & dd$event[risk] == 1]
    nd <- length(dead)
    for (r in 0:(nd - 1)) {
      cw <- rep(1, length(risk)); cw[risk %in% dead] <- 1 - r / nd
      ww <- cw * w[risk]
      S0 <- sum(ww); xbar <- colSums(ww * X[risk, , drop = FALSE]) / S0
      for (k in seq_along(risk)) {
        dx <- X[risk[k], ] - xbar
        J[risk[k], , ] <- J[risk[k], , ] + ww[k] / S0 * outer(dx, dx)
      }
    }
  }
  stopifnot(max(abs(apply(J, c(2, 3), sum) - solve(A))) < 1e-8)
  U <- residuals(f, type = "score")
  gs <- sort(unique(dd$group_id)); G <- length(gs)
  Ug <- rowsum(U, dd$group_id)[gs, , drop = FALSE]
  meat <- matrix(0, p, p)
  for (g in gs) {
    Jg <- apply(J[dd$group_id == g, , , drop = FALSE], c(2, 3), sum)
    ut <- solve(diag(p) - Jg %*% A, Ug[g, ])
    meat <- meat + outer(ut, ut)
  }
  V <- A %*% meat %*% A
  se <- sqrt(diag(V)); df <- G - p; tt <- b / se
  data.frame(programme = prog, term = names(b), coef = unname(b), se_mancl_derouen = se,
             se_lin_wei = sqrt(diag(f$var)), df = df, t = unname(tt), p_value = unname(2 * pt(-abs(tt), df)),
             hr_ci_low = unname(exp(b - qt(0.975, df) * se)), hr_ci_high = unname(exp(b + qt(0.975, df) * se)))
}
md <- rbind(md_rows(d, "test", c("group_type", "facilitation")), md_rows(ds, "sample", c("facilitation")))
write.csv(md, file.path(here, "retention_cox_md.csv"), row.names = FALSE)
cat("done\n")
