# Reference edit distances for groupeval.base.pseudonyms.near_duplicates (Levenshtein 1966).
# utils::adist computes the generalized Levenshtein distance (insertions, deletions,
# substitutions, each cost 1). The script simulates name-like keys with set.seed, writes them
# and every pair's distance; tests/test_pseudonyms.py compares groupeval's vectorised distances.
# Run: Rscript tests/reference/names_adist.R   (from the repository root)
set.seed(20251204)
syll <- c("an", "ne", "lee", "zo", "e", "jo", "se", "pri", "ya", "ta", "riq", "ing", "rid", "kwa", "me",
          "ok", "sa", "na", "ma", "ri", "mo", "ham", "med", "al", "i", " ")
one <- function() {
  k <- sample(2:5, 1)
  s <- paste(sample(syll, k, replace = TRUE), collapse = "")
  s <- gsub("^ +| +$", "", gsub(" +", " ", s))
  if (nchar(s) == 0) "ann" else s
}
keys <- unique(c(replicate(60, one()), "ann lee", "anne lee", "lee ann", "ann", "mohammed ali",
                 "muhammad ali", "tom", "tim", "zoe", "zoey"))
d <- adist(keys)
idx <- which(upper.tri(d), arr.ind = TRUE)
out <- data.frame(a = idx[, 1] - 1, b = idx[, 2] - 1, distance = d[idx])
write.csv(data.frame(key = keys), "names_adist_keys.csv", row.names = FALSE)
write.csv(out[order(out$a, out$b), ], "names_adist_ref.csv", row.names = FALSE)
