# Reference values for groupeval's outcome statistics (tests/test_outcomes*.py, tests/test_models*.py).
#
# Run from the repository root:   Rscript tests/reference/outcomes_r.R
# It simulates the input data itself (set.seed), writes them next to this
# script (outcomes_input.csv, outcomes_small.csv, outcomes_items.csv) and the
# reference values computed by R (outcomes_ref_*.csv).  CI does not run R; the
# tests read the committed CSVs.
#
# Packages: stats (t.test, wilcox.test, pt, uniroot, prop.test, aov), lme4 (lmer), lmerTest and
# pbkrtest (Satterthwaite / Kenward-Roger df, section 5b),
# sandwich (vcovCL), lmtest (coeftest), psych (alpha).
suppressPackageStartupMessages({
  library(lme4)
  library(sandwich)
  library(lmtest)
  library(psych)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
out <- function(df, name) write.csv(df, file.path(here, name), row.names = FALSE)

# ---------------------------------------------------------------------------
# 1. simulated nested data: 30 groups x 6-14 members x 3 timepoints
# ---------------------------------------------------------------------------
set.seed(20240501)
G <- 30
types <- c("cancer survivors", "mental-health recovery", "postpartum depression")
gsize <- sample(6:14, G, replace = TRUE)
grp <- data.frame(group_id = sprintf("G%02d", 1:G), group_type = types[(0:(G - 1)) %% 3 + 1],
                  u_g = rnorm(G, 0, 2), stringsAsFactors = FALSE)
mem <- data.frame(group_id = rep(grp$group_id, gsize), stringsAsFactors = FALSE)
mem$member_id <- sprintf("M%04d", seq_len(nrow(mem)))
mem$u_m <- rnorm(nrow(mem), 0, 3)
mem$sessions_attended <- rbinom(nrow(mem), 26, runif(nrow(mem), 0.2, 0.95))
mem$status <- ifelse(mem$sessions_attended < 8, "dropped", ifelse(runif(nrow(mem)) < 0.7, "completed", "active"))
mem$age <- round(runif(nrow(mem), 20, 70))
tps <- c("baseline", "week_12", "week_26")
eff <- c(0, -2, -3.5)
type_eff <- c("cancer survivors" = 0, "mental-health recovery" = 1.5, "postpartum depression" = -1)
long <- merge(mem, grp, by = "group_id")
long <- long[rep(seq_len(nrow(long)), each = 3), ]
long$timepoint <- rep(tps, nrow(mem))
long$score <- 16 + long$u_g + long$u_m + eff[match(long$timepoint, tps)] +
  type_eff[long$group_type] - 0.1 * (long$sessions_attended - 15) * (long$timepoint != "baseline") +
  0.03 * (long$age - 45) + rnorm(nrow(long), 0, 2.5)
long$score <- pmin(pmax(round(long$score), 0), 40)       # integer sum scores -> ties (normal-approx Wilcoxon)
# missing follow-ups, more often for those who dropped
miss <- (long$timepoint != "baseline") & (runif(nrow(long)) < ifelse(long$status == "dropped", 0.5, 0.12))
long <- long[!miss, ]
long <- long[order(long$member_id, match(long$timepoint, tps)), ]
inp <- long[, c("member_id", "group_id", "group_type", "timepoint", "score", "sessions_attended", "status", "age")]
out(inp, "outcomes_input.csv")

# small continuous sample: exact Wilcoxon (n < 50, no ties, no zeros)
set.seed(7)
small <- data.frame(member_id = sprintf("S%02d", 1:18), pre = round(rnorm(18, 20, 4), 3))
small$post <- round(small$pre - 1.2 + rnorm(18, 0, 2.5), 3)
out(small, "outcomes_small.csv")

# ---------------------------------------------------------------------------
# 2. paired change: t.test, wilcox.test, d_z noncentral-t CI, d_av, g_av
# ---------------------------------------------------------------------------
wide <- reshape(inp[, c("member_id", "group_id", "group_type", "timepoint", "score")],
                idvar = c("member_id", "group_id", "group_type"), timevar = "timepoint", direction = "wide")
names(wide) <- sub("score.", "", names(wide), fixed = TRUE)

dz_ci <- function(t, df, n, level = 0.95) {
  a <- 1 - level
  f_lo <- function(ncp) pt(t, df, ncp) - (1 - a / 2)
  f_hi <- function(ncp) pt(t, df, ncp) - a / 2
  lo <- uniroot(f_lo, c(t - 20, t + 20), tol = 1e-12)$root
  hi <- uniroot(f_hi, c(t - 20, t + 20), tol = 1e-12)$root
  c(lo, hi) / sqrt(n)
}
paired_row <- function(pre, post, label, pre_tp, post_tp) {
  ok <- !is.na(pre) & !is.na(post)
  x <- pre[ok]; y <- post[ok]; n <- length(x)
  tt <- t.test(y, x, paired = TRUE)
  ww <- suppressWarnings(wilcox.test(y, x, paired = TRUE))
  d <- y - x
  dz <- mean(d) / sd(d)
  ci <- dz_ci(unname(tt$statistic), unname(tt$parameter), n)
  dav <- mean(d) / ((sd(x) + sd(y)) / 2)
  data.frame(by = label, pre = pre_tp, post = post_tp, n = n, mean_pre = mean(x), mean_post = mean(y),
             sd_pre = sd(x), sd_post = sd(y), r_pre_post = cor(x, y), mean_change = unname(tt$estimate),
             sd_change = sd(d), ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], t = unname(tt$statistic),
             df = unname(tt$parameter), p_value = tt$p.value, wilcoxon_w = unname(ww$statistic),
             wilcoxon_p = ww$p.value, d_z = dz, d_z_ci_low = ci[1], d_z_ci_high = ci[2], d_av = dav,
             hedges_g_av = dav * (1 - 3 / (4 * (2 * n) - 9)))
}
rows <- list(paired_row(wide$baseline, wide$week_26, "(all)", "baseline", "week_26"),
             paired_row(wide$baseline, wide$week_12, "(all)", "baseline", "week_12"),
             paired_row(wide$week_12, wide$week_26, "(all)", "week_12", "week_26"))
for (ty in types) {
  s <- wide$group_type == ty
  rows[[length(rows) + 1]] <- paired_row(wide$baseline[s], wide$week_26[s], ty, "baseline", "week_26")
}
rows[[length(rows) + 1]] <- paired_row(small$pre, small$post, "(small)", "pre", "post")
out(do.call(rbind, rows), "outcomes_ref_change.csv")

# ---------------------------------------------------------------------------
# 3. Jacobson-Truax / GLN / HA reliable change (independent implementation)
#    lower is better; reliability 0.85; clinical (20, 6), functional (8, 5); SD = baseline sample SD
# ---------------------------------------------------------------------------
cc <- wide[!is.na(wide$baseline) & !is.na(wide$week_26), ]
x1 <- cc$baseline; x2 <- cc$week_26; r <- 0.85
M1 <- 20; s1 <- 6; M0 <- 8; s0 <- 5
s <- sd(x1); se <- s * sqrt(1 - r); sdiff <- sqrt(2 * se^2)
a <- M1 - 2 * s1; b <- M0 + 2 * s0; cval <- (s0 * M1 + s1 * M0) / (s0 + s1)
classify <- function(rc, pre_fun, post_fun, z) {
  up <- -rc > z; down <- -rc < -z
  ifelse(up & !pre_fun & post_fun, "recovered", ifelse(up, "improved",
    ifelse(down & pre_fun & !post_fun, "harmed", ifelse(down, "deteriorated", "unchanged"))))
}
rc_jt <- (x2 - x1) / sdiff
cat_jt <- classify(rc_jt, x1 < cval, x2 < cval, qnorm(0.975))
rc_gln <- ((x2 - mean(x1)) - r * (x1 - mean(x1))) / (s * sqrt(1 - r^2))
cat_gln <- classify(rc_gln, x1 < cval, x2 < cval, qnorm(0.975))
# Hageman & Arrindell 1999
r12 <- cor(x1, x2); spre <- sd(x1); spost <- sd(x2)
rpre <- (spre^2 - se^2) / spre^2; rpost <- (spost^2 - se^2) / spost^2
rdd <- (spre^2 * rpre + spost^2 * rpost - 2 * spre * spost * r12) / (spre^2 + spost^2 - 2 * spre * spost * r12)
rc_ha <- ((x2 - x1) * rdd + (mean(x2) - mean(x1)) * (1 - rdd)) / (sqrt(rdd) * sqrt(2 * se^2))
c_true <- (s0 * sqrt(r) * M1 + s1 * sqrt(r) * M0) / (s0 * sqrt(r) + s1 * sqrt(r))
cs <- (mean(x2) + (x2 - mean(x2)) * rpost - c_true) / (sqrt(rpost) * se)
zh <- qnorm(0.95)
up <- -rc_ha > zh; down <- -rc_ha < -zh; pre_fun <- x1 < c_true
cat_ha <- ifelse(up & !pre_fun & (-cs > zh), "recovered", ifelse(up, "improved",
  ifelse(down & pre_fun & (-cs < -zh), "harmed", ifelse(down, "deteriorated", "unchanged"))))
out(data.frame(member_id = cc$member_id, pre = x1, post = x2, rci_jt = rc_jt, category_jt = cat_jt,
               rci_gln = rc_gln, category_gln = cat_gln, rci_ha = rc_ha, cs_ha = cs, category_ha = cat_ha),
    "outcomes_ref_rci_members.csv")
out(data.frame(quantity = c("sd", "se", "sdiff", "a", "b", "c", "r_dd", "r_post", "c_true"),
               value = c(s, se, sdiff, a, b, cval, rdd, rpost, c_true)), "outcomes_ref_rci_settings.csv")

# Wilson intervals (prop.test without continuity correction is the Wilson score interval)
wk <- c(0, 1, 7, 50, 99, 100); wn <- c(40, 40, 40, 120, 100, 100)
wl <- t(mapply(function(k, n) prop.test(k, n, correct = FALSE)$conf.int, wk, wn))
out(data.frame(k = wk, n = wn, ci_low = wl[, 1], ci_high = wl[, 2]), "outcomes_ref_wilson.csv")

# Cronbach alpha with psych::alpha on simulated items (item 3 reverse keyed, 1-5 scale)
set.seed(11)
lat <- rnorm(150)
items <- sapply(1:6, function(i) pmin(pmax(round(3 + 0.9 * lat + rnorm(150, 0, 0.9)), 1), 5))
items[, 3] <- 6 - items[, 3]
items[sample(150, 6), 2] <- NA
colnames(items) <- paste0("toy_", 1:6)
out(data.frame(member_id = sprintf("A%03d", 1:150), timepoint = "baseline", items), "outcomes_items.csv")
keyed <- items; keyed[, 3] <- 6 - keyed[, 3]
al <- psych::alpha(keyed[complete.cases(keyed), ], check.keys = FALSE)
out(data.frame(alpha = al$total$raw_alpha, n = sum(complete.cases(keyed))), "outcomes_ref_alpha.csv")

# ---------------------------------------------------------------------------
# 4. ICC(1) by one-way ANOVA, by hand (baseline and week_26)
# ---------------------------------------------------------------------------
icc_row <- function(d, tp) {
  d <- d[d$timepoint == tp & !is.na(d$score), ]
  fit <- aov(score ~ factor(group_id), data = d)
  tab <- summary(fit)[[1]]
  msb <- tab[1, "Mean Sq"]; msw <- tab[2, "Mean Sq"]
  N <- nrow(d); nj <- table(d$group_id); k <- length(nj)
  n0 <- (N - sum(nj^2) / N) / (k - 1)
  icc <- (msb - msw) / (msb + (n0 - 1) * msw)
  Fv <- msb / msw; df1 <- k - 1; df2 <- N - k
  FL <- Fv / qf(0.975, df1, df2); FU <- Fv * qf(0.975, df2, df1)
  data.frame(timepoint = tp, icc = icc, ci_low = (FL - 1) / (FL + n0 - 1), ci_high = (FU - 1) / (FU + n0 - 1),
             f = Fv, df1 = df1, df2 = df2, p_value = pf(Fv, df1, df2, lower.tail = FALSE), n_groups = k, n = N,
             mean_group_size = N / k, n0 = n0, design_effect = 1 + (N / k - 1) * icc, msb = msb, msw = msw)
}
out(rbind(icc_row(inp, "baseline"), icc_row(inp, "week_26")), "outcomes_ref_icc.csv")

# ---------------------------------------------------------------------------
# 5. lme4::lmer, REML: random intercepts for members nested in groups
# ---------------------------------------------------------------------------
inp$timepoint <- factor(inp$timepoint, levels = tps)
lmer_tables <- function(fit, label) {
  fe <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  list(data.frame(model = label, term = rownames(fe), estimate = fe[, 1], se = fe[, 2]),
       data.frame(model = label, component = vc$grp, variance = vc$vcov))
}
m1 <- lmer(score ~ timepoint + (1 | group_id / member_id), data = inp, REML = TRUE,
           control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
m2 <- lmer(score ~ timepoint * group_type + age + (1 | group_id / member_id), data = inp, REML = TRUE,
           control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
t1 <- lmer_tables(m1, "time"); t2 <- lmer_tables(m2, "time_by_type_age")
out(rbind(t1[[1]], t2[[1]]), "outcomes_ref_lmer_fixed.csv")
out(rbind(t1[[2]], t2[[2]]), "outcomes_ref_lmer_vc.csv")
out(data.frame(model = c("time", "time_by_type_age"), reml_loglik = c(logLik(m1), logLik(m2))),
    "outcomes_ref_lmer_loglik.csv")

# 5b. lmerTest / pbkrtest on the same two models: Satterthwaite and Kenward-Roger df, t tests and
#     type III F tests (refitted with tightened optimiser tolerances: the reference is the optimum)
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(ftol_abs = 1e-14, ftol_rel = 1e-14, xtol_abs = 1e-12, xtol_rel = 1e-12,
                                    maxeval = 1e5))
lt1 <- lmerTest::lmer(score ~ timepoint + (1 | group_id / member_id), data = inp, REML = TRUE, control = tight)
lt2 <- lmerTest::lmer(score ~ timepoint * group_type + age + (1 | group_id / member_id), data = inp, REML = TRUE,
                      control = tight)
lmer_df <- function(m, label) {
  s <- summary(m, ddf = "Satterthwaite")$coefficients
  k <- summary(m, ddf = "Kenward-Roger")$coefficients
  data.frame(model = label, term = rownames(s), estimate = s[, "Estimate"], se = s[, "Std. Error"], df = s[, "df"],
             t = s[, "t value"], p_value = s[, "Pr(>|t|)"], se_kr = k[, "Std. Error"], df_kr = k[, "df"],
             t_kr = k[, "t value"], p_kr = k[, "Pr(>|t|)"])
}
lmer_anova <- function(m, label) {
  do.call(rbind, lapply(c("Satterthwaite", "Kenward-Roger"), function(dd) {
    a <- as.data.frame(anova(m, type = 3, ddf = dd))
    data.frame(model = label, method = tolower(dd), term = rownames(a), f = a[["F value"]], num_df = a$NumDF,
               den_df = a$DenDF, p_value = a[["Pr(>F)"]])
  }))
}
out(rbind(lmer_df(lt1, "time"), lmer_df(lt2, "time_by_type_age")), "outcomes_ref_lmer_df.csv")
out(rbind(lmer_anova(lt1, "time"), lmer_anova(lt2, "time_by_type_age")), "outcomes_ref_lmer_anova.csv")

# ---------------------------------------------------------------------------
# 6. clustered ANCOVA (CR1 = sandwich HC1, t with G - 1 df) + pairwise contrasts
# ---------------------------------------------------------------------------
cc$group_type <- factor(cc$group_type, levels = types)
fit <- lm(week_26 ~ baseline + group_type, data = cc)
V <- vcovCL(fit, cluster = ~group_id, type = "HC1")
Gc <- length(unique(cc$group_id))
ct <- coeftest(fit, vcov. = V, df = Gc - 1)
out(data.frame(term = rownames(ct), estimate = ct[, 1], se = ct[, 2], t = ct[, 3], p_value = ct[, 4]),
    "outcomes_ref_ancova.csv")
b <- coef(fit)
Lm <- rbind(c(0, 0, 1, 0), c(0, 0, 0, 1), c(0, 0, -1, 1))    # B-A, C-A, C-B
est <- drop(Lm %*% b); se_c <- sqrt(diag(Lm %*% V %*% t(Lm)))
p <- 2 * pt(abs(est / se_c), Gc - 1, lower.tail = FALSE)
# adjusted means at the mean baseline, averaged over nothing else (one covariate)
Lam <- cbind(1, mean(cc$baseline), rbind(c(0, 0), c(1, 0), c(0, 1)))
am <- drop(Lam %*% b); am_se <- sqrt(diag(Lam %*% V %*% t(Lam)))
out(data.frame(level_a = types[c(2, 3, 3)], level_b = types[c(1, 1, 2)], difference = est, se = se_c,
               p_value = p, p_holm = p.adjust(p, "holm"), p_fdr_bh = p.adjust(p, "BH")),
    "outcomes_ref_contrasts.csv")
out(data.frame(level = types, adjusted_mean = am, se = am_se), "outcomes_ref_adjusted_means.csv")

# ---------------------------------------------------------------------------
# 7. dose-response: clustered OLS, as-treated (all with pre and post) and completers (not dropped)
# ---------------------------------------------------------------------------
dd <- merge(cc, mem[, c("member_id", "sessions_attended", "status")], by = "member_id")
dd$change <- dd$week_26 - dd$baseline
dose_row <- function(d, label) {
  Gd <- length(unique(d$group_id))
  f1 <- lm(week_26 ~ baseline + sessions_attended, data = d)
  c1 <- coeftest(f1, vcov. = vcovCL(f1, cluster = ~group_id, type = "HC1"), df = Gd - 1)
  f2 <- lm(change ~ 1, data = d)
  c2 <- coeftest(f2, vcov. = vcovCL(f2, cluster = ~group_id, type = "HC1"), df = Gd - 1)
  f3 <- lm(change ~ sessions_attended, data = d)
  c3 <- coeftest(f3, vcov. = vcovCL(f3, cluster = ~group_id, type = "HC1"), df = Gd - 1)
  data.frame(analysis = label, term = c("per_unit_exposure", "mean_change", "change_slope"),
             estimate = c(c1["sessions_attended", 1], c2[1, 1], c3["sessions_attended", 1]),
             se = c(c1["sessions_attended", 2], c2[1, 2], c3["sessions_attended", 2]),
             p_value = c(c1["sessions_attended", 4], c2[1, 4], c3["sessions_attended", 4]),
             n = nrow(d), n_groups = Gd)
}
out(rbind(dose_row(dd, "as_treated"), dose_row(dd[dd$status != "dropped", ], "completers")),
    "outcomes_ref_dose.csv")
cat("reference values written to", here, "\n")
