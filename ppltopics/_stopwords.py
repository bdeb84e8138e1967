"""English stopword list used by :meth:`ppltopics.Corpus.from_texts` (``stopwords="english"``).

The list is the union of the classic SMART-derived short list used by scikit-learn's
``ENGLISH_STOP_WORDS`` and gensim's ``STOPWORDS`` restricted to function words; it is embedded
so that tokenisation needs no extra package and never changes under an upgrade.
"""

ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """
a about above across after afterwards again against ain all almost alone along already also
although always am among amongst amoungst amount an and another any anyhow anyone anything
anyway anywhere are aren around as at back be became because become becomes becoming been
before beforehand behind being below beside besides between beyond bill both bottom but by
call can cannot cant co con could couldn couldnt cry de describe detail did didn do does
doesn doing don done down due during each eg eight either eleven else elsewhere empty enough
etc even ever every everyone everything everywhere except few fifteen fifty fill find fire
first five for former formerly forty found four from front full further get give go had
hadn has hasn hasnt have haven having he hence her here hereafter hereby herein hereupon hers
herself him himself his how however hundred ie if in inc indeed interest into is isn it its
itself just keep kg km last latter latterly least less ll ltd made make many may me meanwhile
might mill mine more moreover most mostly move much must my myself name namely neither never
nevertheless next nine no nobody none noone nor not nothing now nowhere of off often on once
one only onto or other others otherwise our ours ourselves out over own part per perhaps
please put quite rather re really regarding same say see seem seemed seeming seems serious
several she should shouldn show side since sincere six sixty so some somehow someone
something sometime sometimes somewhere still such system take ten than that the their theirs
them themselves then thence there thereafter thereby therefore therein thereupon these they
thick thin third this those though three through throughout thru thus to together too top
toward towards twelve twenty two un under unless until up upon us used using ve various very
via was wasn we well were weren what whatever when whence whenever where whereafter whereas
whereby wherein whereupon wherever whether which while whither who whoever whole whom whose
why will with within without won would wouldn yet you your yours yourself yourselves
""".split()
)
