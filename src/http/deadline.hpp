// Coarse I/O deadlines, checked by the worker's housekeeping tick (every 50 ms) instead of one
// timer operation per read or write. Arming a deadline stores a time point; nothing is
// scheduled. When a deadline passes, the owner's socket operations are cancelled (never the
// socket closed), the owner sees operation_aborted and asks expired() to tell a timeout from
// other cancellations. Single-threaded: a DeadlineList and its Deadlines belong to one worker.
#pragma once

#include <time.h>

#include <chrono>
#include <functional>

namespace sluice::http {

class DeadlineList;

// CLOCK_MONOTONIC_COARSE: a few milliseconds of resolution, far cheaper to read than the
// precise clock, and precise enough for timeouts checked every 50 ms.
struct CoarseClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

class Deadline {
 public:
  using Clock = CoarseClock;

  // `cancel` is called when the deadline passes; it must cancel the owner's pending I/O.
  Deadline(DeadlineList& list, std::function<void()> cancel);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void expires_after(std::chrono::milliseconds after) {
    at_ = Clock::now() + after;
    expired_ = false;
  }
  void expires_at(Clock::time_point at) {
    at_ = at;
    expired_ = false;
  }
  void expires_never() { at_ = Clock::time_point::max(); }
  bool expired() const { return expired_; }

 private:
  friend class DeadlineList;
  DeadlineList* list_;
  std::function<void()> cancel_;
  Clock::time_point at_ = Clock::time_point::max();
  bool expired_ = false;
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
};

class DeadlineList {
 public:
  // Fires every deadline at or before `now`. Safe against deadlines that unlink themselves.
  void fire_expired(Deadline::Clock::time_point now);
  // Fires every armed deadline now (the drain deadline cutting whatever is still in flight).
  void fire_all() { fire_expired(Deadline::Clock::time_point::max() - Deadline::Clock::duration(1)); }
  std::size_t size() const { return size_; }

 private:
  friend class Deadline;
  void link(Deadline* d);
  void unlink(Deadline* d);

  Deadline* head_ = nullptr;
  std::size_t size_ = 0;
};

inline Deadline::Deadline(DeadlineList& list, std::function<void()> cancel) : list_(&list), cancel_(std::move(cancel)) {
  list_->link(this);
}

inline Deadline::~Deadline() {
  list_->unlink(this);
}

inline void DeadlineList::link(Deadline* d) {
  d->prev_ = nullptr;
  d->next_ = head_;
  if (head_ != nullptr) head_->prev_ = d;
  head_ = d;
  ++size_;
}

inline void DeadlineList::unlink(Deadline* d) {
  if (d->prev_ != nullptr) d->prev_->next_ = d->next_;
  if (d->next_ != nullptr) d->next_->prev_ = d->prev_;
  if (head_ == d) head_ = d->next_;
  d->prev_ = d->next_ = nullptr;
  --size_;
}

inline void DeadlineList::fire_expired(Deadline::Clock::time_point now) {
  for (Deadline* d = head_; d != nullptr;) {
    Deadline* next = d->next_;  // cancel_ only posts completions; it never destroys d
    if (d->at_ <= now) {
      d->at_ = Deadline::Clock::time_point::max();
      d->expired_ = true;
      d->cancel_();
    }
    d = next;
  }
}

}  // namespace sluice::http
