# CR2 / Satterthwaite / HTZ reference values for groupeval's change(), compare_groups() and
# dose_response() (tests/test_models_cr2.py).
#
# Run from the repository root:   Rscript tests/reference/outcomes_cr2.R
# Reads the committed outcomes_input.csv (written by outcomes_r.R) and writes
# outcomes_cr2_*.csv next to this script.  CI does not run R.
#
# Packages: clubSandwich 0.5.8 (vcovCR, coef_test, linear_contrast, Wald_test).
suppressPackageStartupMessages(library(clubSandwich))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
out <- function(df, name) write.csv(df, file.path(here, name), row.names = FALSE)
inp <- read.csv(file.path(here, "outcomes_input.csv"), stringsAsFactors = FALSE)
types <- c("cancer survivors", "mental-health recovery", "postpartum depression")
wide <- reshape(inp[, c("member_id", "group_id", "group_type", "timepoint", "score")],
                idvar = c("member_id", "group_id", "group_type"), timevar = "timepoint", direction = "wide")
names(wide) <- sub("score.", "", names(wide), fixed = TRUE)
mem <- unique(inp[, c("member_id", "sessions_attended", "status")])

# the same data on the first 6 groups (two per type): the few-groups case
six <- sort(unique(wide$group_id))[c(1:6)]
datasets <- list(all = wide, six = wide[wide$group_id %in% six, ])

ct_rows <- function(ct, extra) {
  data.frame(extra, term = ct$Coef, estimate = ct$beta, se = ct$SE, t = ct$tstat, df = ct$df_Satt,
             p_value = ct$p_Satt, row.names = NULL, stringsAsFactors = FALSE)
}

# 1. change: lm(post - pre ~ 1), CR2 clustered by group, overall and by group type
chg <- list()
for (dn in names(datasets)) {
  w <- datasets[[dn]]
  for (pp in list(c("baseline", "week_12"), c("baseline", "week_26"))) {
    cc <- w[!is.na(w[[pp[1]]]) & !is.na(w[[pp[2]]]), ]
    cc$d <- cc[[pp[2]]] - cc[[pp[1]]]
    for (lv in c("(all)", types)) {
      s <- if (lv == "(all)") cc else cc[cc$group_type == lv, ]
      if (length(unique(s$group_id)) < 2) next
      f <- lm(d ~ 1, data = s)
      ct <- coef_test(f, vcov = "CR2", cluster = s$group_id, test = "Satterthwaite")
      chg[[length(chg) + 1]] <- ct_rows(ct, data.frame(data = dn, pre = pp[1], post = pp[2], by = lv,
                                                       n = nrow(s), n_groups = length(unique(s$group_id))))
    }
  }
}
out(do.call(rbind, chg), "outcomes_cr2_change.csv")

# 2. ANCOVA week_26 ~ baseline + group_type: coefficients, pairwise contrasts, adjusted means, HTZ omnibus
anc <- list(); con <- list(); adj <- list(); wald <- list()
for (dn in names(datasets)) {
  cc <- datasets[[dn]]
  cc <- cc[!is.na(cc$baseline) & !is.na(cc$week_26), ]
  cc$group_type <- factor(cc$group_type, levels = types)
  fit <- lm(week_26 ~ baseline + group_type, data = cc)
  V <- vcovCR(fit, cluster = cc$group_id, type = "CR2")
  anc[[dn]] <- ct_rows(coef_test(fit, vcov = V, test = "Satterthwaite"), data.frame(data = dn))
  Lm <- rbind(c(0, 0, 1, 0), c(0, 0, 0, 1), c(0, 0, -1, 1))    # B-A, C-A, C-B
  lc <- linear_contrast(fit, vcov = V, contrasts = Lm, test = "Satterthwaite")
  con[[dn]] <- data.frame(data = dn, level_a = types[c(2, 3, 3)], level_b = types[c(1, 1, 2)],
                          difference = lc$Est, se = lc$SE, df = lc$df,
                          p_value = 2 * pt(abs(lc$Est / lc$SE), lc$df, lower.tail = FALSE))
  con[[dn]]$p_holm <- p.adjust(con[[dn]]$p_value, "holm")
  con[[dn]]$p_fdr_bh <- p.adjust(con[[dn]]$p_value, "BH")
  Lam <- cbind(1, mean(cc$baseline), rbind(c(0, 0), c(1, 0), c(0, 1)))
  la <- linear_contrast(fit, vcov = V, contrasts = Lam, test = "Satterthwaite")
  adj[[dn]] <- data.frame(data = dn, level = types, adjusted_mean = la$Est, se = la$SE, df = la$df)
  wt <- Wald_test(fit, constraints = constrain_zero(3:4), vcov = V, test = c("HTZ", "Naive-F"))
  wald[[dn]] <- data.frame(data = dn, test = wt$test, f = wt$Fstat, df_num = wt$df_num, df_denom = wt$df_denom,
                           p_value = wt$p_val)
}
out(do.call(rbind, anc), "outcomes_cr2_ancova.csv")
out(do.call(rbind, con), "outcomes_cr2_contrasts.csv")
out(do.call(rbind, adj), "outcomes_cr2_adjusted_means.csv")
out(do.call(rbind, wald), "outcomes_cr2_wald.csv")

# 3. dose-response (as treated and completers): slope of week_26 on sessions, mean change, change slope
dose <- list()
for (dn in names(datasets)) {
  dd <- merge(datasets[[dn]], mem, by = "member_id")
  dd <- dd[!is.na(dd$baseline) & !is.na(dd$week_26), ]
  dd$change <- dd$week_26 - dd$baseline
  for (an in c("as_treated", "completers")) {
    d <- if (an == "as_treated") dd else dd[dd$status != "dropped", ]
    f1 <- lm(week_26 ~ baseline + sessions_attended, data = d)
    f2 <- lm(change ~ 1, data = d)
    f3 <- lm(change ~ sessions_attended, data = d)
    c1 <- coef_test(f1, vcov = "CR2", cluster = d$group_id, test = "Satterthwaite")
    c2 <- coef_test(f2, vcov = "CR2", cluster = d$group_id, test = "Satterthwaite")
    c3 <- coef_test(f3, vcov = "CR2", cluster = d$group_id, test = "Satterthwaite")
    dose[[length(dose) + 1]] <- data.frame(
      data = dn, analysis = an, term = c("exposure_slope", "mean_change", "change_slope"),
      estimate = c(c1$beta[3], c2$beta[1], c3$beta[2]), se = c(c1$SE[3], c2$SE[1], c3$SE[2]),
      df = c(c1$df_Satt[3], c2$df_Satt[1], c3$df_Satt[2]), p_value = c(c1$p_Satt[3], c2$p_Satt[1], c3$p_Satt[2]),
      n = nrow(d), n_groups = length(unique(d$group_id)))
  }
}
out(do.call(rbind, dose), "outcomes_cr2_dose.csv")
cat("CR2 reference values written to", here, "\n")
