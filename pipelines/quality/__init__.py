"""Data quality of datasets: the coverage maths and the assessor that stores its reports."""
