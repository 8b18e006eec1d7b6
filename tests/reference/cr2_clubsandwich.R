# Reference values for groupeval.statistics.robust (tests/test_robust_against_clubSandwich.py).
#
# Run from the repository root:   Rscript tests/reference/cr2_clubsandwich.R
# (cr2_sample_input.csv, the shipped sample's BRS ANCOVA frame, is written beforehand by
#  PYTHONPATH=src python tests/reference/cr2_sample_input.py; this script only reads it.)
#
# It simulates its own inputs (set.seed) and writes, next to this script:
#   cr2_input_<dataset>.csv   cluster, y, w (weight, 1 when unweighted) and the model matrix columns (R's names)
#   cr2_ref_coef.csv          clubSandwich::coef_test, per dataset x vcov type (CR2, CR1S, CR0) x test
#   cr2_ref_contrast.csv      clubSandwich::linear_contrast (Satterthwaite and naive-t), p-values included
#   cr2_ref_contrast_L.csv    the contrast rows (dataset, contrast, term, weight)
#   cr2_ref_wald.csv          clubSandwich::Wald_test: HTZ, chi-sq, Naive-F
#   cr2_ref_wald_L.csv        the constraint rows (dataset, hypothesis, row, term, weight)
#   cr2_ref_vcov.csv          vcovCR (CR2, CR1S, CR0) and sandwich::vcovCL(type = "HC1") entries
# Numbers are written with 17 significant digits.  CI does not run R.
#
# Packages: clubSandwich (vcovCR, coef_test, linear_contrast, Wald_test), sandwich (vcovCL).
suppressPackageStartupMessages({
  library(clubSandwich)
  library(sandwich)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
num17 <- function(df) {
  for (nm in names(df)) if (is.double(df[[nm]])) df[[nm]] <- sprintf("%.17g", df[[nm]])
  df
}
out <- function(df, name) write.csv(num17(df), file.path(here, name), row.names = FALSE, quote = TRUE)

# one simulated programme: groups of unequal size, group random effect, members
sim_groups <- function(G, sizes, icc = 0.15) {
  cl <- rep(sprintf("G%02d", seq_len(G)), sizes)
  u <- rnorm(G, 0, sqrt(icc))[rep(seq_len(G), sizes)]
  data.frame(cluster = cl, u = u, stringsAsFactors = FALSE)
}

datasets <- list()   # name -> list(data, formula, weights, contrasts, constraints)

# (a) intercept-only (mean change), 6 and 9 unequal clusters
set.seed(101)
d <- sim_groups(6, c(4, 11, 7, 19, 5, 9))
d$y <- 0.3 + d$u + rnorm(nrow(d))
datasets$mean6 <- list(data = d, formula = y ~ 1, weights = NULL,
                       contrasts = list(mean = c(1)), constraints = list(mean = matrix(1, 1, 1)))
set.seed(102)
d <- sim_groups(9, c(2, 8, 15, 6, 12, 3, 22, 9, 5))
d$y <- -1 + d$u + rnorm(nrow(d), 0, 2)
datasets$mean9 <- list(data = d, formula = y ~ 1, weights = NULL,
                       contrasts = list(mean = c(1)), constraints = list(mean = matrix(1, 1, 1)))
# equal cluster sizes (closed form: CR2 = G/(G-1) CR0 and df = G - 1)
set.seed(103)
d <- sim_groups(7, rep(6, 7))
d$y <- d$u + rnorm(nrow(d))
datasets$mean7eq <- list(data = d, formula = y ~ 1, weights = NULL,
                         contrasts = list(mean = c(1)), constraints = list(mean = matrix(1, 1, 1)))

# (b) ANCOVA post ~ pre + type, 4 types
ancova <- function(G, types, sizes, seed) {
  set.seed(seed)
  d <- sim_groups(G, sizes)
  d$type <- factor(types[match(d$cluster, sprintf("G%02d", seq_len(G)))], levels = c("A", "B", "C", "D"))
  d$pre <- rnorm(nrow(d), 20, 4) + d$u
  d$y <- 5 + 0.6 * d$pre + d$u + rnorm(nrow(d), 0, 3)
  d
}
# contrasts: the three type differences vs A, B - C, B - D, C - D, and an adjusted mean
anc_contrasts <- function(d) {
  X <- model.matrix(~ pre + type, d)
  list(BvA = c(0, 0, 1, 0, 0), CvA = c(0, 0, 0, 1, 0), DvA = c(0, 0, 0, 0, 1),
       BvC = c(0, 0, 1, -1, 0), BvD = c(0, 0, 1, 0, -1), CvD = c(0, 0, 0, 1, -1),
       meanB = c(1, mean(d$pre), 1, 0, 0), slope = c(0, 1, 0, 0, 0))
}
anc_constraints <- list(types = rbind(c(0, 0, 1, 0, 0), c(0, 0, 0, 1, 0), c(0, 0, 0, 0, 1)),
                        BC = rbind(c(0, 0, 1, 0, 0), c(0, 0, 0, 1, 0)),
                        slope = rbind(c(0, 1, 0, 0, 0)),
                        slope_types = rbind(c(0, 1, 0, 0, 0), c(0, 0, 1, 0, 0), c(0, 0, 0, 1, 0), c(0, 0, 0, 0, 1)))
d <- ancova(9, c("A", "B", "C", "D", "A", "B", "C", "D", "A"), c(12, 7, 15, 9, 20, 5, 11, 14, 8), 201)
datasets$ancova9 <- list(data = d, formula = y ~ pre + type, weights = NULL,
                         contrasts = anc_contrasts(d), constraints = anc_constraints)
d <- ancova(12, c("A", "B", "C", "D", "A", "B", "C", "A", "B", "C", "A", "D"),
            c(12, 7, 15, 9, 20, 5, 11, 14, 8, 16, 6, 10), 202)
datasets$ancova12 <- list(data = d, formula = y ~ pre + type, weights = NULL,
                          contrasts = anc_contrasts(d), constraints = anc_constraints)
d <- ancova(8, c("A", "B", "C", "D", "A", "B", "C", "D"), c(9, 14, 6, 11, 8, 17, 4, 12), 205)
datasets$ancova8 <- list(data = d, formula = y ~ pre + type, weights = NULL,
                         contrasts = anc_contrasts(d), constraints = anc_constraints)
# 6 groups: three types of two groups each (four types would leave two types with a single group)
d <- ancova(6, c("A", "B", "C", "A", "B", "C"), c(9, 14, 6, 11, 8, 17), 203)
d$type <- droplevels(d$type)
datasets$ancova6 <- list(data = d, formula = y ~ pre + type, weights = NULL,
                         contrasts = list(BvA = c(0, 0, 1, 0), CvA = c(0, 0, 0, 1), BvC = c(0, 0, 1, -1),
                                          meanB = c(1, mean(d$pre), 1, 0)),
                         constraints = list(types = rbind(c(0, 0, 1, 0), c(0, 0, 0, 1)),
                                            slope_types = rbind(c(0, 1, 0, 0), c(0, 0, 1, 0), c(0, 0, 0, 1))))

# (b') a type with a single group: I - H_gg singular for that group (generalised inverse square root).
# Model without pre: the mean of type D (Intercept + typeD) rests on the one D group alone, so its
# cluster-robust variance is not identified (clubSandwich prints SE ~ 0 and an arbitrary df).
d <- ancova(8, c("A", "B", "C", "D", "A", "B", "C", "A"), c(10, 7, 12, 9, 14, 6, 11, 8), 204)
datasets$single <- list(data = d, formula = y ~ pre + type, weights = NULL,
                        contrasts = anc_contrasts(d), constraints = anc_constraints)
datasets$single_nopre <- list(data = d, formula = y ~ type, weights = NULL,
                              contrasts = list(DvA = c(0, 0, 0, 1), BvC = c(0, 1, -1, 0), meanD = c(1, 0, 0, 1)),
                              constraints = list(types = rbind(c(0, 1, 0, 0), c(0, 0, 1, 0), c(0, 0, 0, 1)),
                                                 BC = rbind(c(0, 1, 0, 0), c(0, 0, 1, 0))))

# (c) dose regression with weights (varying within groups), change ~ exposure + pre
set.seed(301)
d <- sim_groups(10, c(8, 15, 4, 20, 11, 6, 13, 9, 17, 2))
d$exposure <- rbinom(nrow(d), 26, runif(nrow(d), 0.2, 0.9))
d$pre <- rnorm(nrow(d), 15, 4)
d$w <- runif(nrow(d), 0.5, 3)
d$y <- -0.1 * d$exposure - 0.3 * (d$pre - 15) + d$u + rnorm(nrow(d), 0, 2 / sqrt(d$w))
datasets$dose_w <- list(data = d, formula = y ~ exposure + pre, weights = "w",
                        contrasts = list(exposure = c(0, 1, 0), at10 = c(1, 10, 15), ten_sessions = c(0, 10, 0)),
                        constraints = list(both = rbind(c(0, 1, 0), c(0, 0, 1)), exposure = rbind(c(0, 1, 0))))
# weights constant within groups (cluster-level weights): rank-deficient [X_g, W_g X_g]
set.seed(302)
d <- sim_groups(7, c(5, 12, 8, 3, 15, 9, 6))
d$exposure <- rpois(nrow(d), 12)
d$w <- c(1, 2.5, 0.7, 1.8, 1.1, 3, 0.4)[match(d$cluster, sprintf("G%02d", 1:7))]
d$y <- 0.05 * d$exposure + d$u + rnorm(nrow(d))
datasets$dose_wcl <- list(data = d, formula = y ~ exposure, weights = "w",
                          contrasts = list(exposure = c(0, 1), at12 = c(1, 12)),
                          constraints = list(both = rbind(c(1, 0), c(0, 1))))

# (e) large clusters (hundreds of members): the p x p algebra against clubSandwich's n_g x n_g matrices
d <- ancova(8, c("A", "B", "C", "D", "A", "B", "C", "D"), c(310, 150, 420, 600, 205, 380, 175, 260), 206)
datasets$big_clusters <- list(data = d, formula = y ~ pre + type, weights = NULL,
                              contrasts = anc_contrasts(d), constraints = anc_constraints)
set.seed(303)
d <- sim_groups(6, c(240, 410, 130, 520, 300, 180))
d$exposure <- rbinom(nrow(d), 26, runif(nrow(d), 0.2, 0.9))
d$w <- runif(nrow(d), 0.3, 4)
d$y <- 0.04 * d$exposure + d$u + rnorm(nrow(d), 0, 1 / sqrt(d$w))
datasets$big_clusters_w <- list(data = d, formula = y ~ exposure, weights = "w",
                                contrasts = list(exposure = c(0, 1), at13 = c(1, 13)),
                                constraints = list(both = rbind(c(1, 0), c(0, 1)), exposure = rbind(c(0, 1))))

# (d) the shipped sample: BRS baseline -> week_26 by group type (as groupeval.compare_groups fits it)
d <- read.csv(file.path(here, "cr2_sample_input.csv"), stringsAsFactors = FALSE)
names(d)[names(d) == "post"] <- "y"
names(d)[names(d) == "group_id"] <- "cluster"
d$group_type <- factor(d$group_type)
lev <- levels(d$group_type)
datasets$sample <- list(data = d, formula = y ~ pre + group_type, weights = NULL,
                        contrasts = list(t2v1 = c(0, 0, 1, 0, 0), t3v2 = c(0, 0, -1, 1, 0),
                                         t4v3 = c(0, 0, 0, -1, 1), mean1 = c(1, mean(d$pre), 0, 0, 0)),
                        constraints = list(omnibus = rbind(c(0, 0, 1, 0, 0), c(0, 0, 0, 1, 0), c(0, 0, 0, 0, 1))))

# clubSandwich 0.5.8's linear_contrast() fails for weighted lm fits (it refers to an undefined `q` in the
# non-inverse-variance branch), so for the weighted datasets each contrast c is obtained with coef_test() on
# the reparametrised fit y ~ 0 + X T^{-1} with T = rbind(c, rows of I): its first coefficient is c'beta, and
# the CR0/CR1S/CR2 covariances and Satterthwaite df are invariant to this reparametrisation.
contrast_by_reparametrisation <- function(fit, d, Cm, type, test, level) {
  X <- model.matrix(fit)
  y <- model.response(model.frame(fit))
  w <- weights(fit)
  res <- lapply(seq_len(nrow(Cm)), function(i) {
    cvec <- Cm[i, ]
    j <- which(cvec != 0)[1]
    Tm <- rbind(cvec, diag(ncol(X))[-j, , drop = FALSE])
    Xs <- X %*% solve(Tm)
    colnames(Xs) <- paste0("b", seq_len(ncol(Xs)))
    fs <- lm(y ~ 0 + Xs, weights = w)
    ct <- coef_test(fs, vcov = vcovCR(fs, cluster = d$cluster, type = type), test = test)[1, ]
    df <- if (test == "Satterthwaite") ct$df_Satt else ct$df_t
    p <- if (test == "Satterthwaite") ct$p_Satt else ct$p_t
    crit <- qt(1 - (1 - level) / 2, df)
    data.frame(Est = ct$beta, SE = ct$SE, df = df, CI_L = ct$beta - crit * ct$SE, CI_U = ct$beta + crit * ct$SE,
               p_val = p)
  })
  do.call(rbind, res)
}

# ---------------------------------------------------------------------------
coef_rows <- list(); con_rows <- list(); conL_rows <- list(); wald_rows <- list(); waldL_rows <- list()
vc_rows <- list()
vc_long <- function(V, ds, type) {
  data.frame(dataset = ds, vcov_type = type, row = rep(rownames(V), ncol(V)), col = rep(colnames(V), each = nrow(V)),
             value = as.vector(V), stringsAsFactors = FALSE)
}
types <- c(CR2 = "CR2", CR1 = "CR1S", CR0 = "CR0")
for (ds in names(datasets)) {
  spec <- datasets[[ds]]
  d <- spec$data
  if (is.null(spec$weights)) {
    fit <- lm(spec$formula, data = d)
    w <- rep(1, nrow(d))
  } else {
    d$.w <- d[[spec$weights]]
    fit <- lm(spec$formula, data = d, weights = .w)
    w <- d$.w
  }
  X <- model.matrix(fit)
  terms <- colnames(X)
  inp <- data.frame(cluster = d$cluster, y = model.response(model.frame(fit)), w = w, stringsAsFactors = FALSE)
  inp <- cbind(inp, as.data.frame(X, optional = TRUE))
  if (ds != "sample") out(inp, sprintf("cr2_input_%s.csv", ds))
  Cm <- do.call(rbind, spec$contrasts)
  colnames(Cm) <- terms
  conL_rows[[ds]] <- data.frame(dataset = ds, contrast = rep(rownames(Cm), ncol(Cm)), term = rep(terms, each = nrow(Cm)),
                                weight = as.vector(Cm), stringsAsFactors = FALSE)
  for (h in names(spec$constraints)) {
    Lh <- spec$constraints[[h]]
    waldL_rows[[paste(ds, h)]] <- data.frame(dataset = ds, hypothesis = h, row = rep(seq_len(nrow(Lh)), ncol(Lh)),
                                             term = rep(terms, each = nrow(Lh)), weight = as.vector(Lh))
  }
  vc_rows[[paste(ds, "HC1")]] <- vc_long(sandwich::vcovCL(fit, cluster = d$cluster, type = "HC1"), ds, "vcovCL_HC1")
  for (tp in names(types)) {
    V <- vcovCR(fit, cluster = d$cluster, type = types[[tp]])
    vc_rows[[paste(ds, tp)]] <- vc_long(as.matrix(V), ds, tp)
    ct <- coef_test(fit, vcov = V, test = c("Satterthwaite", "naive-t"))
    coef_rows[[paste(ds, tp)]] <- data.frame(dataset = ds, vcov_type = tp, term = terms, estimate = ct$beta,
                                             se = ct$SE, t = ct$tstat, df_satterthwaite = ct$df_Satt,
                                             p_satterthwaite = ct$p_Satt, df_naive = ct$df_t, p_naive = ct$p_t,
                                             stringsAsFactors = FALSE)
    for (tst in c("Satterthwaite", "naive-t")) {
      lc <- if (is.null(spec$weights)) {
        linear_contrast(fit, vcov = V, contrasts = Cm, test = tst, level = 0.9, p_values = TRUE)
      } else {
        contrast_by_reparametrisation(fit, d, Cm, types[[tp]], tst, level = 0.9)
      }
      con_rows[[paste(ds, tp, tst)]] <- data.frame(dataset = ds, vcov_type = tp, test = tst, contrast = rownames(Cm),
                                                   estimate = lc$Est, se = lc$SE, df = lc$df, ci_low_90 = lc$CI_L,
                                                   ci_high_90 = lc$CI_U, p_value = lc$p_val, stringsAsFactors = FALSE)
    }
    for (h in names(spec$constraints)) {
      Lh <- spec$constraints[[h]]
      # clubSandwich stops when C V C' is not positive definite (recorded as NA with the error message)
      wt <- tryCatch(Wald_test(fit, constraints = Lh, vcov = V, test = c("HTZ", "chi-sq", "Naive-F")),
                     error = function(e) conditionMessage(e))
      if (is.character(wt)) {
        wald_rows[[paste(ds, tp, h)]] <- data.frame(dataset = ds, vcov_type = tp, hypothesis = h,
                                                    test = c("HTZ", "chi-sq", "Naive-F"), f = NA_real_,
                                                    delta = NA_real_, df_num = nrow(Lh), df_denom = NA_real_,
                                                    p_value = NA_real_, error = wt, stringsAsFactors = FALSE)
      } else {
        wald_rows[[paste(ds, tp, h)]] <- data.frame(dataset = ds, vcov_type = tp, hypothesis = h, test = wt$test,
                                                    f = wt$Fstat, delta = wt$delta, df_num = wt$df_num,
                                                    df_denom = wt$df_denom, p_value = wt$p_val, error = "",
                                                    stringsAsFactors = FALSE)
      }
    }
  }
}
out(do.call(rbind, coef_rows), "cr2_ref_coef.csv")
out(do.call(rbind, con_rows), "cr2_ref_contrast.csv")
out(do.call(rbind, conL_rows), "cr2_ref_contrast_L.csv")
out(do.call(rbind, wald_rows), "cr2_ref_wald.csv")
out(do.call(rbind, waldL_rows), "cr2_ref_wald_L.csv")
out(do.call(rbind, vc_rows), "cr2_ref_vcov.csv")

# console check of the brief's headline number: omnibus group-type HTZ on the shipped sample
s <- do.call(rbind, wald_rows)
print(s[s$dataset == "sample", ])
