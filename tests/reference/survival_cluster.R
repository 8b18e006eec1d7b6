# Reference values for groupeval.statistics.survival_cluster (helper h/survival).
# Simulates its own clustered, late-entry retention data (set.seed), writes the
# input and R survival's values; tests/test_survival_cluster_against_R.py reads
# the CSVs (CI never runs R).  Run from the repo root:
#     Rscript tests/reference/survival_cluster.R
# Needs survival (>= 3.x) and KMsurv (Debian: apt-get install r-cran-kmsurv).
# Counting-process convention: members not left-truncated get entry = -1 (at
# risk from time 0, events at time 0 allowed); late entrants (entry, time].
suppressMessages({library(survival); library(KMsurv)})
here <- "tests/reference"
cat("R", R.version.string, " survival", as.character(packageVersion("survival")),
    " KMsurv", as.character(packageVersion("KMsurv")), "\n")

# ---- simulated programme: 10 groups, 2 group types, group frailty, late entry
set.seed(20240611)
G <- 10
size <- sample(8:18, G, replace = TRUE)
group <- rep(sprintf("g%02d", 1:G), size)
type <- rep(rep(c("drop-in", "structured"), length.out = G), size)
frail <- rep(rgamma(G, shape = 2, rate = 2), size)          # groups differ in dropout risk
n <- length(group)
band <- sample(c("18-34", "35-54", "55+"), n, replace = TRUE)
x <- round(rnorm(n), 2)
rate <- 0.06 * frail * exp(0.3 * x)
t_drop <- floor(rexp(n, rate))                               # weekly sessions: many ties, some 0
t_cens <- rep(sample(20:40, G, replace = TRUE), size)        # group's last session in the data
late <- rep(runif(G) < 0.5, size) & runif(n) < 0.6
entry <- ifelse(late, sample(1:6, n, replace = TRUE), 0)
time <- pmin(t_drop, t_cens)
event <- as.integer(t_drop <= t_cens)
keep <- entry == 0 | time > entry                            # left truncation: dropped before entry -> unseen
d <- data.frame(member_id = sprintf("m%03d", seq_len(n)), group_id = group, group_type = type, band = band,
                x = x, entry_weeks = entry, time_weeks = time, event = event)[keep, ]
write.csv(d, file.path(here, "survival_cluster_input.csv"), row.names = FALSE)
d$entry <- ifelse(d$entry_weeks > 0, d$entry_weeks, -1)
d$time <- d$time_weeks
cat(nrow(d), "members,", sum(d$event), "events,", sum(d$entry_weeks > 0), "late entrants,",
    sum(d$time == 0 & d$event == 1), "events at 0\n")

# ---- robust score (cluster-robust log-rank) tests
logrank_cp <- function(entry, time, event, g) {   # textbook O - E and hypergeometric V, risk entry < t <= time
  lev <- sort(unique(g)); k <- length(lev)
  ut <- sort(unique(time[event == 1]))
  OE <- rep(0, k); V <- matrix(0, k, k)
  for (t in ut) {
    risk <- entry < t & time >= t
    nj <- sapply(lev, function(l) sum(risk & g == l))
    dj <- sapply(lev, function(l) sum(time == t & event == 1 & g == l))
    nn <- sum(nj); dd <- sum(dj)
    OE <- OE + dj - dd * nj / nn
    if (nn > 1) V <- V + dd * (nn - dd) / (nn - 1) * (diag(nj / nn) - outer(nj / nn, nj / nn))
  }
  i <- 1:(k - 1)
  drop(t(OE[i]) %*% solve(V[i, i, drop = FALSE]) %*% OE[i])
}
lr <- NULL; cs <- NULL
for (fac in c("group_type", "band")) {
  lr <- rbind(lr, data.frame(factor = fac, ties = "breslow", test = "logrank",
                             statistic = logrank_cp(d$entry, d$time, d$event, d[[fac]]),
                             df = length(unique(d[[fac]])) - 1))
  for (ties in c("breslow", "efron")) {
    f <- coxph(as.formula(paste("Surv(entry, time, event) ~", fac, "+ cluster(group_id)")), data = d, ties = ties)
    s <- summary(f)
    lr <- rbind(lr, data.frame(factor = fac, ties = ties, test = "robust_score",
                               statistic = unname(s$robscore["test"]), df = unname(s$robscore["df"])))
    f0 <- coxph(as.formula(paste("Surv(entry, time, event) ~", fac)), data = d, ties = ties,
                init = rep(0, length(coef(f))), control = coxph.control(iter.max = 0))
    u0 <- residuals(f0, type = "score", collapse = d$group_id)
    u0 <- as.matrix(u0)
    cs <- rbind(cs, data.frame(factor = fac, ties = ties, cluster = rownames(u0),
                               column = rep(seq_len(ncol(u0)), each = nrow(u0)), score = as.vector(u0)))
  }
}
# no late entry: the member-level log-rank is survdiff's
d0 <- d[d$entry_weeks == 0, ]
sd0 <- survdiff(Surv(time, event) ~ group_type, data = d0)
stopifnot(abs(logrank_cp(rep(-1, nrow(d0)), d0$time, d0$event, d0$group_type) - sd0$chisq) < 1e-8)
lr <- rbind(lr, data.frame(factor = "group_type_no_late_entry", ties = "breslow", test = "logrank",
                           statistic = sd0$chisq, df = 1))
write.csv(lr, file.path(here, "survival_cluster_logrank.csv"), row.names = FALSE)
write.csv(cs, file.path(here, "survival_cluster_scores0.csv"), row.names = FALSE)

# ---- Kaplan-Meier: Greenwood, cluster-robust (IJ), grouped jackknife
km_rows <- function(dd, stratum) {
  fr <- survfit(Surv(entry, time, event) ~ 1, data = dd, cluster = group_id, conf.type = "log-log")
  fg <- survfit(Surv(entry, time, event) ~ 1, data = dd, conf.type = "log-log")
  sr <- summary(fr, censored = TRUE)
  sg <- summary(fg, censored = TRUE)
  stopifnot(!fg$logse == FALSE, fr$logse == FALSE)   # robust std.err is on the survival scale in fit$std.err
  grid <- sr$time
  gs <- sort(unique(dd$group_id)); GG <- length(gs)
  jk <- sapply(gs, function(g) {
    fj <- survfit(Surv(entry, time, event) ~ 1, data = dd[dd$group_id != g, ])
    summary(fj, times = grid, extend = TRUE)$surv
  })
  jk <- matrix(jk, nrow = length(grid))
  var_jk <- (GG - 1) / GG * rowSums((jk - rowMeans(jk))^2)
  data.frame(stratum = stratum, time = grid, at_risk = sr$n.risk, events = sr$n.event, censored = sr$n.censor,
             retention = sr$surv, std_err_greenwood = sg$std.err / sg$surv, std_err_robust = sr$std.err / sr$surv,
             std_err_jackknife = sqrt(var_jk) / sr$surv, ci_low = sr$lower, ci_high = sr$upper,
             ci_low_greenwood = sg$lower, ci_high_greenwood = sg$upper)
}
km <- km_rows(d, "overall")
for (g in sort(unique(d$group_type))) km <- rbind(km, km_rows(d[d$group_type == g, ], g))
write.csv(km, file.path(here, "survival_cluster_km.csv"), row.names = FALSE)

# ---- KMsurv channing (men): late entry empties the risk set early
data(channing)
men <- channing[channing$gender == 1 & channing$age > channing$ageentry, ]   # 1 man has age == ageentry
write.csv(data.frame(obs = men$obs, ageentry = men$ageentry, age = men$age, death = men$death),
          file.path(here, "survival_cluster_channing_men.csv"), row.names = FALSE)
fc <- survfit(Surv(ageentry, age, death) ~ 1, data = men, conf.type = "log-log")
sc <- summary(fc, censored = TRUE)
ch <- data.frame(curve = "unconditional", time = sc$time, at_risk = sc$n.risk, events = sc$n.event,
                 censored = sc$n.censor, retention = sc$surv, std_err_greenwood = sc$std.err / sc$surv,
                 ci_low = sc$lower, ci_high = sc$upper)
fc2 <- survfit(Surv(ageentry, age, death) ~ 1, data = men, conf.type = "log-log", start.time = 68 * 12)
sc2 <- summary(fc2, censored = TRUE)
ch <- rbind(ch, data.frame(curve = "start_time_816", time = sc2$time, at_risk = sc2$n.risk, events = sc2$n.event,
                           censored = sc2$n.censor, retention = sc2$surv,
                           std_err_greenwood = sc2$std.err / sc2$surv, ci_low = sc2$lower, ci_high = sc2$upper))
write.csv(ch, file.path(here, "survival_cluster_channing_km.csv"), row.names = FALSE)

# ---- Cox: fit, score residuals, Lin-Wei (coxph cluster=) and Mancl-DeRouen (Breslow) variances
ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100)
cox <- NULL; res <- NULL
for (ties in c("efron", "breslow")) {
  f <- coxph(Surv(entry, time, event) ~ group_type + x, data = d, cluster = group_id, ties = ties, control = ctl)
  b <- coef(f)
  A <- f$naive.var
  row <- data.frame(ties = ties, term = names(b), coef = unname(b), se_lin_wei = sqrt(diag(f$var)),
                    se_model = sqrt(diag(A)), loglik = f$loglik[2], loglik_null = f$loglik[1])
  r <- residuals(f, type = "score")
  res <- rbind(res, data.frame(ties = ties, member_id = d$member_id, r1 = r[, 1], r2 = r[, 2]))
  if (ties == "breslow") {
    # each member's share of the information, J_i = sum_t Y_i(t) w_i (x_i - xbar)(x_i - xbar)' dLambda(t),
    # by a plain loop over the event times (independent of groupeval's cumulative sums)
    X <- model.matrix(~ group_type + x, d)[, -1]
    w <- exp(drop(X %*% b))
    J <- array(0, c(nrow(d), 2, 2))
    for (t in sort(unique(d$time[d$event == 1]))) {
      risk <- d$entry < t & d$time >= t
      S0 <- sum(w[risk]); xbar <- colSums(w[risk] * X[risk, , drop = FALSE]) / S0
      dL <- sum(d$time == t & d$event == 1) / S0
      for (i in which(risk)) J[i, , ] <- J[i, , ] + w[i] * dL * outer(X[i, ] - xbar, X[i, ] - xbar)
    }
    stopifnot(max(abs(apply(J, c(2, 3), sum) - solve(A))) < 1e-8)
    gs <- sort(unique(d$group_id))
    Ug <- rowsum(r, d$group_id)[gs, ]
    meat <- matrix(0, 2, 2)
    for (g in gs) {
      Jg <- apply(J[d$group_id == g, , , drop = FALSE], c(2, 3), sum)
      ut <- solve(diag(2) - Jg %*% A, Ug[g, ])
      meat <- meat + outer(ut, ut)
    }
    V_md <- A %*% meat %*% A
    row$se_mancl_derouen <- sqrt(diag(V_md))
  } else row$se_mancl_derouen <- NA
  cox <- rbind(cox, row)
}
write.csv(cox, file.path(here, "survival_cluster_cox.csv"), row.names = FALSE)
write.csv(res, file.path(here, "survival_cluster_cox_resid.csv"), row.names = FALSE)
cat("done\n")
