"""Words every content kind shares."""

# The six rubric components (data/rubric.yaml must define exactly these ids).
COMPONENTS = (
    "paged_attention",
    "cuda_kernels",
    "scheduler",
    "model_executor",
    "quantization",
    "distributed",
)

# The roadmap's four rubric dimensions (data/rubric.yaml, interviewers' weights).
DIMENSIONS = ("understanding", "explain", "implement", "optimize")

LAB_TRACKS = ("python", "cuda", "triton", "cpp", "system")
QUESTION_CATEGORIES = (
    "cuda_coding", "system_design", "architecture", "behavioral", "implementation", "debugging",
)

# Link schemes understood inside Markdown: [text](lesson:m02-paged-attention)
LINK_SCHEMES = ("lesson", "lab", "project", "deck", "card", "question", "day", "kernel", "interviewer")
