# Reference values for groupeval.statistics.benchmark, from metafor (Viechtbauer 2010).
#
# Writes benchmark_input.csv (long scores: member_id, group_id, site, timepoint, score) and
# benchmark_metafor.csv (one row per site and overall: the summary statistics the values were
# computed from, and metafor's SMCRH estimate yi, variance vi and 95% Wald limits), plus
# benchmark_metafor_or.csv (OR2DL: Chinn's log odds ratio -> d conversion from 2x2 tables).
#
# Run from this folder:  Rscript benchmark_metafor.R   (metafor 3.8-1 was used)
suppressPackageStartupMessages(library(metafor))
set.seed(20260514)

n_groups <- 14
sizes <- sample(6:14, n_groups, replace = TRUE)
group <- rep(seq_len(n_groups), sizes)
n <- length(group)
site <- ifelse(group %% 2 == 0, "north", "south")
u <- rnorm(n_groups, 0, 1.5)[group]              # group effect on level
v <- rnorm(n_groups, 0, 1.0)[group]              # group effect on change
pre <- 15 + u + rnorm(n, 0, 4.5)
post <- pre - 2.5 + v + 0.3 * (pre - 15) + rnorm(n, 0, 3.5)
input <- data.frame(
  member_id = rep(sprintf("m%03d", seq_len(n)), 2),
  group_id = rep(sprintf("g%02d", group), 2),
  site = rep(site, 2),
  timepoint = rep(c("baseline", "week_12"), each = n),
  score = c(pre, post)
)
write.csv(input, "benchmark_input.csv", row.names = FALSE)

stat_row <- function(label, idx) {
  x1 <- pre[idx]; x2 <- post[idx]
  es <- escalc(measure = "SMCRH", m1i = mean(x2), m2i = mean(x1), sd1i = sd(x1), sd2i = sd(x2),
               ri = cor(x1, x2), ni = length(x1))
  s <- summary(es)          # ci.lb / ci.ub: yi -/+ qnorm(.975) * sqrt(vi)
  es2 <- escalc(measure = "SMCR", m1i = mean(x2), m2i = mean(x1), sd1i = sd(x1), ri = cor(x1, x2),
                ni = length(x1))
  data.frame(site = label, n = length(x1), mean_pre = mean(x1), mean_post = mean(x2), sd_pre = sd(x1),
             sd_post = sd(x2), r = cor(x1, x2), sd_change = sd(x2 - x1),
             smcrh_yi = as.numeric(es$yi), smcrh_vi = as.numeric(es$vi),
             smcrh_ci_lb = s$ci.lb, smcrh_ci_ub = s$ci.ub, smcr_yi = as.numeric(es2$yi),
             cmi = metafor:::.cmicalc(length(x1) - 1))
}
out <- rbind(stat_row("(all)", seq_len(n)), stat_row("north", which(site == "north")),
             stat_row("south", which(site == "south")))
write.csv(out, "benchmark_metafor.csv", row.names = FALSE)

tab <- data.frame(ai = c(30, 12, 45), bi = c(70, 40, 55), ci = c(20, 18, 60), di = c(80, 30, 40))
or <- escalc(measure = "OR2DL", ai = ai, bi = bi, ci = ci, di = di, data = tab)
tab$odds_ratio <- (tab$ai * tab$di) / (tab$bi * tab$ci)
tab$or2dl_yi <- as.numeric(or$yi)
write.csv(tab, "benchmark_metafor_or.csv", row.names = FALSE)
