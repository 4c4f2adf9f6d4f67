#include "runner/metrics_relay.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/logging.h"

namespace gantry::runner {

// A run of same-kind records, each with the file offset just past its line.
struct MetricsRelay::Batch {
  bool metrics = true;
  std::vector<Json> items;  // metric points, or {"key", "value"} for tags
  std::vector<int64_t> ends;

  // The REST payload for items [begin, end).
  Json Body(size_t begin, size_t end) const {
    if (metrics) {
      Json list = Json::array();
      for (size_t i = begin; i < end; ++i) list.push_back(items[i]);
      return list;
    }
    // Later values of a key win, as they would have one by one.
    Json tags = Json::object();
    for (size_t i = begin; i < end; ++i) {
      tags[items[i]["key"].get<std::string>()] = items[i]["value"];
    }
    return tags;
  }
};

namespace {

bool IsRefusal(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kResourceExhausted;
}

std::string Excerpt(std::string_view line) {
  constexpr size_t kMax = 120;
  std::string out(line.substr(0, kMax));
  if (line.size() > kMax) out += "...";
  return out;
}

}  // namespace

Result<SdkRecord> ParseSdkRecord(std::string_view line) {
  // The user's process writes these lines: bounded like any other untrusted JSON.
  ASSIGN_OR_RETURN(Json j, ParseJson(line, "the line"));
  if (!j.is_object()) return Err(InvalidArgumentError("not a JSON object"));
  auto type = j.find("t");
  if (type == j.end() || !type->is_string()) return Err(InvalidArgumentError("no \"t\" field"));
  auto key = j.find("key");
  if (key == j.end() || !key->is_string() || key->get_ref<const std::string&>().empty()) {
    return Err(InvalidArgumentError("\"key\" must be a non-empty string"));
  }
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "metric") {
    auto value = j.find("value");
    if (value == j.end()) return Err(InvalidArgumentError("metric has no \"value\""));
    Json point = {{"key", *key}, {"value", *value}};
    auto step = j.find("step");
    if (step != j.end() && !step->is_null()) {
      if (!step->is_number_integer() ||
          (step->is_number_integer() && !step->is_number_unsigned() && step->get<int64_t>() < 0)) {
        return Err(InvalidArgumentError("\"step\" must be a non-negative integer or null"));
      }
      point["step"] = *step;
    }
    auto rank = j.find("rank");
    if (rank != j.end() && !rank->is_null()) {
      if (!rank->is_number_unsigned()) {
        return Err(InvalidArgumentError("\"rank\" must be a non-negative integer or null"));
      }
      point["rank"] = *rank;
    }
    auto ts = j.find("ts");
    if (ts != j.end() && !ts->is_null()) {
      if (!ts->is_number()) return Err(InvalidArgumentError("\"ts\" must be a number"));
      point["timestamp"] =
          ts->is_number_integer() ? ts->get<int64_t>() : static_cast<int64_t>(ts->get<double>());
    }
    return MetricRecord{std::move(point)};
  }
  if (t == "tag") {
    auto value = j.find("value");
    std::string text;
    if (value != j.end() && !value->is_null()) {
      text = value->is_string() ? value->get<std::string>() : value->dump();
    }
    return TagRecord{key->get<std::string>(), std::move(text)};
  }
  return Err(InvalidArgumentError("unknown record type \"" + t + "\""));
}

MetricsRelay::MetricsRelay(fs::path metrics_file, MetricsSink* sink, MetricsRelayOptions options)
    : tail_(std::move(metrics_file), 0, options.max_line_bytes), sink_(sink), options_(options) {
  if (options_.max_batch == 0) options_.max_batch = 1;
}

int64_t MetricsRelay::FileBytes() const {
  std::error_code ec;
  const uintmax_t size = fs::file_size(tail_.path(), ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

Status MetricsRelay::Relay(bool final) {
  while (true) {
    ASSIGN_OR_RETURN(std::vector<TailLine> lines, tail_.Peek(options_.read_bytes, final));
    if (lines.empty()) return Status::Ok();

    Batch batch;
    auto flush = [&]() -> Status {
      if (batch.items.empty()) return Status::Ok();
      Status s = Deliver(batch);
      batch.items.clear();
      batch.ends.clear();
      return s;
    };
    for (const TailLine& line : lines) {
      Result<SdkRecord> record =
          line.cut ? Result<SdkRecord>(Err(InvalidArgumentError(
                         "longer than " + std::to_string(options_.max_line_bytes) + " bytes")))
                   : ParseSdkRecord(line.text);
      if (!record) {
        if (line.end_offset > warned_offset_) {
          GLOG(Warning) << "skipping a malformed line of " << tail_.path().string()
                        << " ending at byte " << line.end_offset << " (" << record.error().message()
                        << "): " << Excerpt(line.text);
          ++skipped_;
        }
      } else {
        bool is_metric = std::holds_alternative<MetricRecord>(*record);
        if (!batch.items.empty() &&
            (is_metric != batch.metrics || batch.items.size() >= options_.max_batch)) {
          RETURN_IF_ERROR(flush());
        }
        batch.metrics = is_metric;
        if (is_metric) {
          batch.items.push_back(std::move(std::get<MetricRecord>(*record).point));
        } else {
          auto& tag = std::get<TagRecord>(*record);
          batch.items.push_back(Json{{"key", tag.key}, {"value", tag.value}});
        }
        batch.ends.push_back(line.end_offset);
      }
      warned_offset_ = std::max(warned_offset_, line.end_offset);
    }
    RETURN_IF_ERROR(flush());
    // Also steps over malformed lines after the last record.
    tail_.Advance(lines.back().end_offset);
  }
}

Status MetricsRelay::Deliver(const Batch& batch) {
  auto post = [&](size_t begin, size_t end) {
    Json body = batch.Body(begin, end);
    return batch.metrics ? sink_->PostMetrics(body, batch.ends[end - 1]) : sink_->PostTags(body);
  };
  const char* what = batch.metrics ? "metric" : "tag";
  Status s = post(0, batch.items.size());
  if (s.ok()) {
    delivered_ += static_cast<int64_t>(batch.items.size());
    tail_.Advance(batch.ends.back());
    return s;
  }
  if (!IsRefusal(s)) return s;
  if (batch.items.size() > 1) {
    GLOG(Warning) << "the server refused a batch of " << batch.items.size() << " " << what << "s ("
                  << s.message() << "); sending them one by one";
  }
  for (size_t i = 0; i < batch.items.size(); ++i) {
    Status one = batch.items.size() == 1 ? s : post(i, i + 1);
    if (one.ok()) {
      ++delivered_;
    } else if (IsRefusal(one)) {
      GLOG(Warning) << "dropping " << what << " '" << batch.items[i]["key"].get<std::string>()
                    << "': " << one.message();
      ++skipped_;
    } else {
      return one;
    }
    // Per record, so that a failure part-way resends only what the server has not taken.
    tail_.Advance(batch.ends[i]);
  }
  return Status::Ok();
}

}  // namespace gantry::runner
