FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY requirements.txt package.json ./
RUN pip install --no-cache-dir -r requirements.txt && npm install --no-audit --no-fund --omit=dev
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only-not-used-at-run-time-0123456789 python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "leaderboard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
