# Reference values for groupeval.impute: multiple imputation with the group as a fixed effect,
# CR2 analysis, Barnard-Rubin pooling and the delta-adjusted tipping point (tests/test_impute.py).
#
# Run from the repository root:   Rscript tests/reference/impute_mice.R
# It simulates its own input (set.seed) and writes it next to this script (impute_input.csv:
# long scores, one row per observed member x timepoint) with the values computed by mice /
# clubSandwich (impute_ref_delta.csv, impute_ref_tipping.csv).  CI does not run R.
#
# Data: 10 groups of 8-15 members, baseline always observed, week_12 and week_26 missing more
# often for members who started high (MAR given the baseline), true mean change -3.5 (a
# lower-is-better score: higher = worse).
# Imputation (van Buuren 2018, FIMD): mice, predictive mean matching (5 donors), the group as a
# factor predictor (fixed-effect dummies), m = 60, maxit = 20.
# Analysis per completed data set: mean change week_26 - baseline with its CR2 variance
# (clubSandwich::vcovCR, cluster = group); complete-data df = the CR2 Satterthwaite df of the mean;
# pooled by mice::pool.scalar (Rubin's rules with the Barnard-Rubin df, n = df_com + 1, k = 1).
# Delta adjustment, two ways:
#   chain:  FIMD section 3.8 -- mice's `post` adds delta to the imputed week_26 inside the chained
#           equations (one mice run per delta, the same seed);
#   after:  delta added to the imputed week_26 of the completed data sets of the MAR run.
# Tipping point: smallest delta at which the upper CI limit of the (negative) change reaches 0
# (uniroot on the "after" curve; linear interpolation of the "chain" grid).
# Packages: mice 3.15.0, clubSandwich 0.5.8.
suppressPackageStartupMessages({
  library(mice)
  library(clubSandwich)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
out <- function(df, name) write.csv(df, file.path(here, name), row.names = FALSE)

set.seed(20261205)
G <- 10
sizes <- sample(8:15, G, replace = TRUE)
grp <- data.frame(group_id = sprintf("G%02d", 1:G), u = rnorm(G, 0, 2), cg = rnorm(G, 0, 1),
                  stringsAsFactors = FALSE)
w <- data.frame(group_id = rep(grp$group_id, sizes), stringsAsFactors = FALSE)
w$member_id <- sprintf("M%03d", seq_len(nrow(w)))
gi <- match(w$group_id, grp$group_id)
um <- rnorm(nrow(w), 0, 3)
w$y0 <- round(15 + grp$u[gi] + um + rnorm(nrow(w), 0, 2))
w$y1 <- round(15 + grp$u[gi] + um - 1.5 + 0.5 * grp$cg[gi] + rnorm(nrow(w), 0, 2))
w$y2 <- round(15 + grp$u[gi] + um - 3.5 + grp$cg[gi] + rnorm(nrow(w), 0, 2))
pmiss <- plogis(-1.2 + 0.15 * (w$y0 - 15))
w$y1[runif(nrow(w)) < pmiss] <- NA
w$y2[runif(nrow(w)) < pmiss] <- NA
long <- do.call(rbind, lapply(1:3, function(k) {
  data.frame(member_id = w$member_id, group_id = w$group_id, timepoint = c("baseline", "week_12", "week_26")[k],
             score = w[[c("y0", "y1", "y2")[k]]], stringsAsFactors = FALSE)
}))
long <- long[!is.na(long$score), ]
long <- long[order(long$member_id, long$timepoint), ]
out(long, "impute_input.csv")

dat <- data.frame(y0 = w$y0, y1 = w$y1, y2 = w$y2, group = factor(w$group_id))
M <- 60
SEED <- 4242
meth <- c(y0 = "", y1 = "pmm", y2 = "pmm", group = "")
cl <- w$group_id

# CR2 variance and Satterthwaite df of a mean (intercept-only lm)
cr2_mean <- function(d) {
  f <- lm(d ~ 1)
  ct <- coef_test(f, vcov = "CR2", cluster = cl, test = "Satterthwaite")
  c(q = unname(coef(f)), u = ct$SE^2, df = ct$df_Satt)
}
pool_rows <- function(changes) {
  a <- t(sapply(changes, cr2_mean))
  p <- pool.scalar(a[, "q"], a[, "u"], n = a[1, "df"] + 1, k = 1)
  se <- sqrt(p$t)
  data.frame(estimate = p$qbar, se = se, df = p$df, ci_low = p$qbar - qt(0.975, p$df) * se,
             ci_high = p$qbar + qt(0.975, p$df) * se, between = p$b, within = p$ubar, df_complete = a[1, "df"])
}
run_mice <- function(delta) {
  post <- make.post(dat)
  if (delta != 0) post["y2"] <- paste("imp[[j]][, i] <- imp[[j]][, i] +", delta)
  mice(dat, m = M, method = meth, maxit = 20, post = post, seed = SEED, printFlag = FALSE)
}

imp0 <- run_mice(0)
miss2 <- is.na(dat$y2)
completed <- lapply(seq_len(M), function(i) complete(imp0, i))
share <- mean(miss2)
after <- function(delta) pool_rows(lapply(completed, function(cd) (cd$y2 + delta * miss2) - cd$y0))
grid <- seq(0, 4, by = 0.5)
rows <- list()
for (dl in grid) {
  a <- after(dl)
  rows[[length(rows) + 1]] <- cbind(method = "after", delta = dl, share_imputed = share, a)
  imp <- run_mice(dl)
  ch <- lapply(seq_len(M), function(i) { cd <- complete(imp, i); cd$y2 - cd$y0 })
  rows[[length(rows) + 1]] <- cbind(method = "chain", delta = dl, share_imputed = share, pool_rows(ch))
}
tab <- do.call(rbind, rows)
out(tab, "impute_ref_delta.csv")

tip_after <- uniroot(function(dl) after(dl)$ci_high, c(0, 10), tol = 1e-10)$root
ch <- tab[tab$method == "chain", ]
k <- which(ch$ci_high > 0)[1]
tip_chain <- if (is.na(k) || k == 1) NA_real_ else
  ch$delta[k - 1] + (0 - ch$ci_high[k - 1]) * (ch$delta[k] - ch$delta[k - 1]) / (ch$ci_high[k] - ch$ci_high[k - 1])
out(data.frame(method = c("after", "chain"), tipping_delta = c(tip_after, tip_chain), m = M,
               share_imputed = share), "impute_ref_tipping.csv")
cat("tipping points: after", tip_after, "chain", tip_chain, "\n")
