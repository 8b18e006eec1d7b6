# Reference values for groupeval.statistics.retention / cox_model / logrank (helper D).
# Input: retention_km_input.csv (written by retention_input.py from the test
# programme): member_id, group_id, group_type, entry_weeks, time_weeks, event,
# facilitation.  Members not left-truncated have entry_weeks = 0; in R's
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
cat("done\n")
